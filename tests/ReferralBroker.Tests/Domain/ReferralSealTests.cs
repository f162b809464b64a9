using System.Security.Cryptography;
using System.Text;
using ReferralBroker.Sealing;
using ReferralBroker.Tokens;

namespace ReferralBroker.Tests.Domain;

public sealed class ReferralSealTests
{
    private const string ReferralId = "ref_000000000000000000000001";
    private const string ClientJson = """{"firstName":"Mai","needs":"STI testing"}""";

    /*
     * Test vector for sealed referral v1, computed independently of this code base with Node's crypto
     * (node v20). Re-derive it with:
     *
     * node -e '
     * const crypto = require("crypto");
     * const S = Buffer.from(Array.from({length: 32}, (_, i) => i));              // 0x00..0x1f
     * const nonce = Buffer.from(Array.from({length: 12}, (_, i) => 0xa0 + i));   // 0xa0..0xab
     * const referralId = "ref_000000000000000000000001";
     * const json = Buffer.from(JSON.stringify({firstName: "Mai", needs: "STI testing"}), "utf8");
     * const salt = Buffer.from(referralId, "utf8");
     * const key = Buffer.from(crypto.hkdfSync("sha256", S, salt, Buffer.from("referral-broker/v1/key"), 32));
     * const capability = Buffer.from(crypto.hkdfSync("sha256", S, salt, Buffer.from("referral-broker/v1/capability"), 32));
     * const cipher = crypto.createCipheriv("aes-256-gcm", key, nonce);
     * cipher.setAAD(salt);
     * const ciphertext = Buffer.concat([cipher.update(json), cipher.final(), cipher.getAuthTag()]);
     * console.log(JSON.stringify({
     *   json: json.toString(),
     *   nonce: nonce.toString("base64url"),
     *   ciphertext: ciphertext.toString("base64url"),
     *   key: key.toString("base64url"),
     *   capability: capability.toString("base64url"),
     *   capabilityHash: crypto.createHash("sha256").update(capability).digest("base64url"),
     * }, null, 2));
     * '
     */
    private const string VectorNonce = "oKGio6Slpqeoqaqr";
    private const string VectorCiphertextAndTag = "gG-z_dtPNFzvFCXb4001xQuaUAGGNon3krMCkJ27ru42Mv0EYGrG8b7JR__UH-ZO9Zr50Ar-bi2p";
    private const string VectorKey = "yWh8k6DAxkzzOMl_Ext-iCdlajSEeR91OfHRITs2pyw";
    private const string VectorCapability = "tINjAwGHp-nGYH3os9KqyCuVxXm4PSZMNpSqFWwD3Vc";
    private const string VectorCapabilityHash = "y_8-SjCd5051b0C1l88kT9_rQdXxi8BYcIN1PEHx45w";

    private static byte[] VectorSecret() => Enumerable.Range(0x00, 32).Select(i => (byte)i).ToArray();

    private static byte[] VectorNonceBytes() => Enumerable.Range(0xa0, 12).Select(i => (byte)i).ToArray();

    private static byte[] Json() => Encoding.UTF8.GetBytes(ClientJson);

    [Fact]
    public void Seal_matches_the_independently_computed_test_vector()
    {
        var result = ReferralSeal.Seal(ReferralId, Json(), VectorSecret(), VectorNonceBytes());

        Assert.Equal(1, result.Sealed.V);
        Assert.Equal(VectorNonce, result.Sealed.Nonce);
        Assert.Equal(VectorCiphertextAndTag, result.Sealed.Ciphertext);
        Assert.Equal(VectorCapabilityHash, result.CapabilityHash);
        Assert.Equal(VectorSecret(), result.LinkSecret);
    }

    [Fact]
    public void Key_and_capability_derivation_match_the_test_vector()
    {
        Assert.Equal(VectorKey, Base64Url.Encode(ReferralSeal.DeriveKey(VectorSecret(), ReferralId)));
        Assert.Equal(VectorCapability, Base64Url.Encode(ReferralSeal.DeriveCapability(VectorSecret(), ReferralId)));
        Assert.Equal(VectorCapabilityHash, ReferralSeal.HashCapability(Base64Url.TryDecode(VectorCapability)));
    }

    [Fact]
    public void Open_with_only_the_link_secret_decrypts_the_test_vector()
    {
        var stored = new SealedReferral(1, VectorNonce, VectorCiphertextAndTag);

        var plain = ReferralSeal.Open(ReferralId, stored, VectorSecret());

        Assert.Equal(ClientJson, Encoding.UTF8.GetString(plain));
    }

    [Fact]
    public void Sealed_output_holds_neither_the_client_details_nor_the_secrets()
    {
        var result = ReferralSeal.Seal(ReferralId, Json());
        var stored = $"{result.Sealed.Nonce} {result.Sealed.Ciphertext} {result.CapabilityHash}";

        Assert.DoesNotContain("Mai", stored, StringComparison.Ordinal);
        Assert.DoesNotContain(Base64Url.Encode(Json()), stored, StringComparison.Ordinal);
        Assert.DoesNotContain(Base64Url.Encode(result.LinkSecret), stored, StringComparison.Ordinal);
        Assert.DoesNotContain(Base64Url.Encode(ReferralSeal.DeriveCapability(result.LinkSecret, ReferralId)), stored, StringComparison.Ordinal);
        Assert.Equal(ClientJson, Encoding.UTF8.GetString(ReferralSeal.Open(ReferralId, result.Sealed, result.LinkSecret)));
    }

    [Fact]
    public void Open_fails_for_another_referral_id_because_the_id_is_authenticated()
    {
        var stored = new SealedReferral(1, VectorNonce, VectorCiphertextAndTag);

        Assert.ThrowsAny<CryptographicException>(() => ReferralSeal.Open("ref_000000000000000000000002", stored, VectorSecret()));
    }

    [Fact]
    public void Open_fails_when_the_key_is_right_but_the_authenticated_referral_id_is_not()
    {
        // Same key as for ReferralId but another AAD: only the AAD check can refuse this.
        var key = ReferralSeal.DeriveKey(VectorSecret(), ReferralId);
        var nonce = VectorNonceBytes();
        var output = new byte[Json().Length + ReferralSeal.TagBytes];
        using (var aes = new AesGcm(key, ReferralSeal.TagBytes))
        {
            aes.Encrypt(nonce, Json(), output.AsSpan(0, Json().Length), output.AsSpan(Json().Length), "another"u8);
        }

        var stored = new SealedReferral(1, Base64Url.Encode(nonce), Base64Url.Encode(output));

        Assert.ThrowsAny<CryptographicException>(() => ReferralSeal.Open(ReferralId, stored, VectorSecret()));
    }

    [Fact]
    public void Open_fails_with_a_wrong_link_secret()
    {
        var stored = new SealedReferral(1, VectorNonce, VectorCiphertextAndTag);
        var wrong = VectorSecret();
        wrong[0] ^= 0x01;

        Assert.ThrowsAny<CryptographicException>(() => ReferralSeal.Open(ReferralId, stored, wrong));
        Assert.ThrowsAny<CryptographicException>(() => ReferralSeal.Open(ReferralId, stored, RandomNumberGenerator.GetBytes(32)));
    }

    [Fact]
    public void Open_fails_when_the_ciphertext_or_tag_was_altered()
    {
        var bytes = Base64Url.TryDecode(VectorCiphertextAndTag)!;
        bytes[3] ^= 0x80;
        var alteredBody = new SealedReferral(1, VectorNonce, Base64Url.Encode(bytes));
        var tag = Base64Url.TryDecode(VectorCiphertextAndTag)!;
        tag[^1] ^= 0x01;
        var alteredTag = new SealedReferral(1, VectorNonce, Base64Url.Encode(tag));

        Assert.ThrowsAny<CryptographicException>(() => ReferralSeal.Open(ReferralId, alteredBody, VectorSecret()));
        Assert.ThrowsAny<CryptographicException>(() => ReferralSeal.Open(ReferralId, alteredTag, VectorSecret()));
    }

    [Fact]
    public void CapabilityMatches_accepts_the_capability_derived_from_the_link_secret()
    {
        var result = ReferralSeal.Seal(ReferralId, Json(), VectorSecret(), VectorNonceBytes());

        Assert.True(ReferralSeal.CapabilityMatches(VectorCapability, result.CapabilityHash));
        Assert.True(ReferralSeal.CapabilityMatches(
            Base64Url.Encode(ReferralSeal.DeriveCapability(VectorSecret(), ReferralId)), VectorCapabilityHash));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not base64url!")]
    [InlineData("%%%%")]
    [InlineData("tINjAwGHp-nGYH3os9KqyCuVxXm4PSZMNpSqFWwD3V")]
    [InlineData("tINjAwGHp-nGYH3os9KqyCuVxXm4PSZMNpSqFWwD3Vs")]
    [InlineData("uINjAwGHp-nGYH3os9KqyCuVxXm4PSZMNpSqFWwD3Vc")]
    [InlineData("tINjAwGHp-nGYH3os9KqyCuVxXm4PSZMNpSqFWwD3VcA")]
    [InlineData("y_8-SjCd5051b0C1l88kT9_rQdXxi8BYcIN1PEHx45w")]
    public void CapabilityMatches_refuses_a_wrong_or_garbled_capability(string? presented) =>
        Assert.False(ReferralSeal.CapabilityMatches(presented, VectorCapabilityHash));

    [Fact]
    public void CapabilityMatches_refuses_the_capability_of_another_referral_or_secret()
    {
        var otherReferral = Base64Url.Encode(ReferralSeal.DeriveCapability(VectorSecret(), "ref_000000000000000000000002"));
        var otherSecret = Base64Url.Encode(ReferralSeal.DeriveCapability(RandomNumberGenerator.GetBytes(32), ReferralId));
        var theKey = Base64Url.Encode(ReferralSeal.DeriveKey(VectorSecret(), ReferralId));

        Assert.False(ReferralSeal.CapabilityMatches(otherReferral, VectorCapabilityHash));
        Assert.False(ReferralSeal.CapabilityMatches(otherSecret, VectorCapabilityHash));
        Assert.False(ReferralSeal.CapabilityMatches(theKey, VectorCapabilityHash));
        Assert.False(ReferralSeal.CapabilityMatches(Base64Url.Encode(VectorSecret()), VectorCapabilityHash));
    }

    [Fact]
    public void CapabilityMatches_is_false_when_the_stored_hash_is_garbled() =>
        Assert.False(ReferralSeal.CapabilityMatches(VectorCapability, "not a hash!"));

    [Fact]
    public void Seal_with_a_random_link_secret_never_repeats_the_secret_or_the_nonce()
    {
        var secrets = new HashSet<string>(StringComparer.Ordinal);
        var nonces = new HashSet<string>(StringComparer.Ordinal);
        var ciphertexts = new HashSet<string>(StringComparer.Ordinal);
        const int count = 2000;
        for (var i = 0; i < count; i++)
        {
            var result = ReferralSeal.Seal(ReferralId, Json());
            Assert.Equal(32, result.LinkSecret.Length);
            Assert.Equal(12, Base64Url.TryDecode(result.Sealed.Nonce)!.Length);
            secrets.Add(Base64Url.Encode(result.LinkSecret));
            nonces.Add(result.Sealed.Nonce);
            ciphertexts.Add(result.Sealed.Ciphertext);
        }

        Assert.Equal(count, secrets.Count);
        Assert.Equal(count, nonces.Count);
        Assert.Equal(count, ciphertexts.Count);
    }
}
