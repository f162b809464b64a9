using System.Security.Cryptography;
using System.Text;

namespace ReferralBroker.Tokens;

/// <summary>
/// The client's status token: 80 random bits written as 16 Crockford base32 characters in groups of four.
/// People copy it from a card, so reading it forgives case, spaces, missing dashes and look-alike letters.
/// </summary>
public static class StatusToken
{
    public const int Characters = 16;
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    public static string Generate()
    {
        Span<byte> random = stackalloc byte[Characters * 5 / 8];
        RandomNumberGenerator.Fill(random);
        return Format(Encode(random));
    }

    /// <summary>Canonical 16-character form, or null when the text cannot be a token.</summary>
    public static string? Normalise(string? typed)
    {
        if (typed is null || typed.Length > 64)
        {
            return null;
        }

        var canonical = new StringBuilder(Characters);
        foreach (var raw in typed)
        {
            if (raw is ' ' or '-' or '\t')
            {
                continue;
            }

            var c = char.ToUpperInvariant(raw) switch
            {
                'O' => '0',
                'I' or 'L' => '1',
                var other => other,
            };
            if (Alphabet.IndexOf(c, StringComparison.Ordinal) < 0 || canonical.Length == Characters)
            {
                return null;
            }

            canonical.Append(c);
        }

        return canonical.Length == Characters ? canonical.ToString() : null;
    }

    public static string Format(string canonical) =>
        string.Join('-', Enumerable.Range(0, canonical.Length / 4).Select(i => canonical.Substring(i * 4, 4)));

    private static string Encode(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(Characters);
        int buffer = 0, bits = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                text.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }

        return text.ToString();
    }
}

/// <summary>
/// Keyed hashing with the server's pepper. Only these hashes of tokens and idempotency keys are stored, so
/// a copy of the database alone cannot even confirm a guessed token.
/// </summary>
public sealed class Pepper(byte[] secret)
{
    private readonly byte[] _secret = secret.Length >= 32
        ? secret
        : throw new ArgumentException("The pepper must be at least 256 bits.", nameof(secret));

    public string HashToken(string canonicalToken) => Hash("status-token", canonicalToken);

    public string Hash(string purpose, string value) =>
        Base64Url.Encode(HMACSHA256.HashData(_secret, Encoding.UTF8.GetBytes($"{purpose}\n{value}")));

    public byte[] DeriveKey(string purpose, ReadOnlySpan<byte> material)
    {
        var input = new byte[Encoding.UTF8.GetByteCount(purpose) + 1 + material.Length];
        var written = Encoding.UTF8.GetBytes(purpose, input);
        input[written] = (byte)'\n';
        material.CopyTo(input.AsSpan(written + 1));
        return HMACSHA256.HashData(_secret, input);
    }
}
