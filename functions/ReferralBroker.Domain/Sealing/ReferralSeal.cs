using System.Security.Cryptography;
using System.Text;
using ReferralBroker.Tokens;

namespace ReferralBroker.Sealing;

/// <summary>The client's details as the broker stores them: encrypted under a key it never keeps.</summary>
public sealed record SealedReferral(int V, string Nonce, string Ciphertext);

/// <summary>What intake hands the partner (only through the email link) and what it keeps.</summary>
public sealed record SealingResult(byte[] LinkSecret, SealedReferral Sealed, string CapabilityHash);

/// <summary>
/// Sealed referral v1 (README, "Tokens and sealing"): from a 256-bit link secret S and salt = UTF-8(referralId),
/// HKDF-SHA-256 derives the AES-256-GCM key and the partner's capability. The broker keeps the ciphertext and
/// SHA-256(capability), never S or the key.
/// </summary>
public static class ReferralSeal
{
    public const int Version = 1;
    public const int LinkSecretBytes = 32;
    public const int NonceBytes = 12;
    public const int TagBytes = 16;
    private static readonly byte[] KeyInfo = "referral-broker/v1/key"u8.ToArray();
    private static readonly byte[] CapabilityInfo = "referral-broker/v1/capability"u8.ToArray();

    public static SealingResult Seal(string referralId, ReadOnlySpan<byte> clientJson)
    {
        var linkSecret = RandomNumberGenerator.GetBytes(LinkSecretBytes);
        var nonce = RandomNumberGenerator.GetBytes(NonceBytes);
        return Seal(referralId, clientJson, linkSecret, nonce);
    }

    /// <summary>Deterministic form, for test vectors.</summary>
    public static SealingResult Seal(string referralId, ReadOnlySpan<byte> clientJson, byte[] linkSecret, byte[] nonce)
    {
        var key = DeriveKey(linkSecret, referralId);
        try
        {
            var output = Encrypt(key, nonce, clientJson, Encoding.UTF8.GetBytes(referralId));
            var sealedReferral = new SealedReferral(Version, Base64Url.Encode(nonce), Base64Url.Encode(output));
            return new SealingResult(linkSecret, sealedReferral, HashCapability(DeriveCapability(linkSecret, referralId)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>What a partner does with S from the link; the broker itself never calls this outside tests.</summary>
    public static byte[] Open(string referralId, SealedReferral sealedReferral, ReadOnlySpan<byte> linkSecret)
    {
        var nonce = Base64Url.TryDecode(sealedReferral.Nonce) ?? throw new CryptographicException("Bad nonce.");
        var input = Base64Url.TryDecode(sealedReferral.Ciphertext) ?? throw new CryptographicException("Bad ciphertext.");
        return Decrypt(DeriveKey(linkSecret, referralId), nonce, input, Encoding.UTF8.GetBytes(referralId));
    }

    /// <summary>AES-256-GCM with the tag appended to the ciphertext: the one construction the broker encrypts with.</summary>
    internal static byte[] Encrypt(byte[] key, byte[] nonce, ReadOnlySpan<byte> plain, ReadOnlySpan<byte> associatedData)
    {
        var output = new byte[plain.Length + TagBytes];
        using var aes = new AesGcm(key, TagBytes);
        aes.Encrypt(nonce, plain, output.AsSpan(0, plain.Length), output.AsSpan(plain.Length), associatedData);
        return output;
    }

    /// <summary>Short text sealed under a server-side key, as "base64url(nonce).base64url(ciphertext)".</summary>
    internal static string SealText(byte[] key, string text, string associatedData)
    {
        var nonce = RandomNumberGenerator.GetBytes(NonceBytes);
        var output = Encrypt(key, nonce, Encoding.UTF8.GetBytes(text), Encoding.UTF8.GetBytes(associatedData));
        return $"{Base64Url.Encode(nonce)}.{Base64Url.Encode(output)}";
    }

    internal static string OpenText(byte[] key, string sealedText, string associatedData)
    {
        var parts = sealedText.Split('.');
        if (parts.Length != 2 || Base64Url.TryDecode(parts[0]) is not { } nonce || Base64Url.TryDecode(parts[1]) is not { } input)
        {
            throw new CryptographicException("The sealed text is malformed.");
        }

        return Encoding.UTF8.GetString(Decrypt(key, nonce, input, Encoding.UTF8.GetBytes(associatedData)));
    }

    internal static byte[] Decrypt(byte[] key, byte[] nonce, byte[] input, ReadOnlySpan<byte> associatedData)
    {
        if (nonce.Length != NonceBytes || input.Length < TagBytes)
        {
            throw new CryptographicException("The ciphertext is truncated or malformed.");
        }

        var plain = new byte[input.Length - TagBytes];
        using var aes = new AesGcm(key, TagBytes);
        aes.Decrypt(nonce, input.AsSpan(0, plain.Length), input.AsSpan(plain.Length), plain, associatedData);
        return plain;
    }

    public static byte[] DeriveKey(ReadOnlySpan<byte> linkSecret, string referralId) => Derive(linkSecret, referralId, KeyInfo);

    public static byte[] DeriveCapability(ReadOnlySpan<byte> linkSecret, string referralId) =>
        Derive(linkSecret, referralId, CapabilityInfo);

    private static byte[] Derive(ReadOnlySpan<byte> linkSecret, string referralId, byte[] info)
    {
        var output = new byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, linkSecret, output, Encoding.UTF8.GetBytes(referralId), info);
        return output;
    }

    public static string HashCapability(ReadOnlySpan<byte> capability) => Base64Url.Encode(SHA256.HashData(capability));

    /// <summary>Checks a presented capability (base64url) against the stored hash in constant time.</summary>
    public static bool CapabilityMatches(string? presented, string storedHash)
    {
        var capability = Base64Url.TryDecode(presented);
        if (capability is null)
        {
            return false;
        }

        var expected = Base64Url.TryDecode(storedHash);
        return expected is not null
            && CryptographicOperations.FixedTimeEquals(SHA256.HashData(capability), expected);
    }
}
