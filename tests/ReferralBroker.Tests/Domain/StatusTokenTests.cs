using ReferralBroker.Tokens;

namespace ReferralBroker.Tests.Domain;

public sealed class StatusTokenTests
{
    // Crockford base32, written out independently of the code: digits and letters without I, L, O and U.
    private const string Crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private const string FormattedPattern = "^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$";

    [Fact]
    public void Generate_writes_four_dashed_groups_of_four_Crockford_characters()
    {
        for (var i = 0; i < 200; i++)
        {
            Assert.Matches(FormattedPattern, StatusToken.Generate());
        }
    }

    [Fact]
    public void Generate_carries_at_least_80_random_bits_as_16_characters_each_free_to_take_any_of_32_values()
    {
        const int samples = 4000;
        var seen = Enumerable.Range(0, 16).Select(_ => new HashSet<char>()).ToArray();
        for (var i = 0; i < samples; i++)
        {
            var canonical = StatusToken.Generate().Replace("-", "");
            Assert.Equal(16, canonical.Length);
            for (var position = 0; position < canonical.Length; position++)
            {
                seen[position].Add(canonical[position]);
            }
        }

        // Each of the 16 positions is seen to take all 32 values, so each carries 5 bits: 16 × 5 = 80.
        // A position stuck on fewer values by chance: 16 × 32 × (31/32)^4000, about 1e-52.
        Assert.All(seen, values => Assert.Equal(Crockford.Order(), values.Order()));
    }

    [Fact]
    public void Generate_does_not_repeat_itself()
    {
        var tokens = Enumerable.Range(0, 20_000).Select(_ => StatusToken.Generate()).ToList();

        Assert.Equal(tokens.Count, tokens.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void A_generated_token_normalises_to_itself_without_dashes()
    {
        var token = StatusToken.Generate();

        Assert.Equal(token.Replace("-", ""), StatusToken.Normalise(token));
        Assert.Equal(token, StatusToken.Format(token.Replace("-", "")));
    }

    [Theory]
    [InlineData("ABCD-EFGH-JKMN-PQRS", "ABCDEFGHJKMNPQRS")]
    [InlineData("abcd-efgh-jkmn-pqrs", "ABCDEFGHJKMNPQRS")]
    [InlineData("AbCd-eFgH-jKmN-pQrS", "ABCDEFGHJKMNPQRS")]
    [InlineData("ABCDEFGHJKMNPQRS", "ABCDEFGHJKMNPQRS")]
    [InlineData("ABCD EFGH JKMN PQRS", "ABCDEFGHJKMNPQRS")]
    [InlineData("  abcd efgh-jkmnpqrs  ", "ABCDEFGHJKMNPQRS")]
    [InlineData("TVWX-YZ01-2345-6789", "TVWXYZ0123456789")]
    [InlineData("OOOO-oooo-0000-1234", "0000000000001234")]
    [InlineData("IIII-iiii-LLLL-llll", "1111111111111111")]
    [InlineData("0ILO-1234-5678-9ABC", "0110123456789ABC")]
    public void Normalise_forgives_case_spaces_missing_dashes_and_look_alike_letters(string typed, string canonical) =>
        Assert.Equal(canonical, StatusToken.Normalise(typed));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("----")]
    [InlineData("UBCD-EFGH-JKMN-PQRS")]
    [InlineData("abcd-efgh-jkmn-pqru")]
    [InlineData("ABCD-EFGH-JKMN-PQR")]
    [InlineData("ABCD-EFGH-JKMN-PQRST")]
    [InlineData("ABCD-EFGH-JKMN-PQRS-ABCD")]
    [InlineData("ABCD.EFGH.JKMN.PQRS")]
    [InlineData("ABCD_EFGH_JKMN_PQRS")]
    [InlineData("ABCD-EFGH-JKMN-PQR!")]
    [InlineData("ABCD/EFGH-JKMN-PQRS")]
    [InlineData("ABCD-EFGH-JKMN-PQRS\n")]
    [InlineData("ABCD-EFGH-JKMN-PÉRS")]
    [InlineData("ＡＢＣＤ-ＥＦＧＨ-ＪＫＭＮ-ＰＱＲＳ")]
    public void Normalise_rejects_what_cannot_be_a_token(string? typed) =>
        Assert.Null(StatusToken.Normalise(typed));

    [Fact]
    public void Normalise_rejects_very_long_input()
    {
        Assert.Null(StatusToken.Normalise(string.Concat(Enumerable.Repeat("ABCD-EFGH-JKMN-PQRS", 10_000))));
        Assert.Null(StatusToken.Normalise(new string('A', 1_000_000)));
        Assert.Null(StatusToken.Normalise(new string(' ', 100_000) + "ABCD-EFGH-JKMN-PQRS"));
    }

    [Fact]
    public void HashToken_is_deterministic_for_one_pepper()
    {
        var secret = Secret(1);
        var token = StatusToken.Normalise(StatusToken.Generate())!;

        Assert.Equal(new Pepper(secret).HashToken(token), new Pepper(secret.ToArray()).HashToken(token));
    }

    [Fact]
    public void HashToken_differs_across_peppers_and_across_tokens()
    {
        var token = StatusToken.Normalise(StatusToken.Generate())!;
        var other = StatusToken.Normalise(StatusToken.Generate())!;
        var almostSame = Secret(1);
        almostSame[^1] ^= 1;

        Assert.NotEqual(new Pepper(Secret(1)).HashToken(token), new Pepper(Secret(2)).HashToken(token));
        Assert.NotEqual(new Pepper(Secret(1)).HashToken(token), new Pepper(almostSame).HashToken(token));
        Assert.NotEqual(new Pepper(Secret(1)).HashToken(token), new Pepper(Secret(1)).HashToken(other));
    }

    [Fact]
    public void HashToken_never_contains_the_token()
    {
        var pepper = new Pepper(Secret(7));
        for (var i = 0; i < 500; i++)
        {
            var formatted = StatusToken.Generate();
            var canonical = StatusToken.Normalise(formatted)!;

            var hash = pepper.HashToken(canonical);

            Assert.DoesNotContain(canonical, hash, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(formatted, hash, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(canonical[..8], hash, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(canonical[8..], hash, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(31)]
    public void A_pepper_under_32_bytes_throws(int length) =>
        Assert.Throws<ArgumentException>("secret", () => new Pepper(new byte[length]));

    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    public void A_pepper_of_32_bytes_or_more_is_accepted(int length) =>
        Assert.NotEmpty(new Pepper(new byte[length]).HashToken("ABCDEFGHJKMNPQRS"));

    private static byte[] Secret(byte seed) => Enumerable.Range(0, 32).Select(i => (byte)(seed * 31 + i)).ToArray();
}
