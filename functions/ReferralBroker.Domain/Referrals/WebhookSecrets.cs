using System.Security.Cryptography;

namespace ReferralBroker.Referrals;

/// <summary>
/// Webhook secrets in the Standard Webhooks form: <c>whsec_</c> and the base64 of random bytes (the specification
/// recommends 24 to 64 of them). The bytes after the prefix are the HMAC key; the string is what a receiver gives its
/// library (<c>new Webhook(secret)</c> in each of the standard's libraries).
/// </summary>
public static class WebhookSecrets
{
    public const string Prefix = "whsec_";
    public const int MinBytes = 24;
    public const int MaxBytes = 64;
    /// <summary>The broker's own secrets: 32 bytes, the size of the HMAC-SHA-256 key itself.</summary>
    public const int GeneratedBytes = 32;
    public const string Rule = "whsec_ followed by the base64 of 24 to 64 random bytes (the Standard Webhooks form), e.g. one the broker generates.";

    public static string Generate() => Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(GeneratedBytes));

    /// <summary>The HMAC key, or null when <paramref name="secret"/> is not in the form (nothing about it is said, it is a secret).</summary>
    public static byte[]? Key(string? secret)
    {
        if (secret is null || !secret.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var text = secret.AsSpan(Prefix.Length);
        // Canonical standard base64 only: no whitespace (which Convert would skip) and no URL-safe alphabet, since
        // every Standard Webhooks library decodes the standard alphabet.
        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '='))
            {
                return null;
            }
        }

        var bytes = new byte[text.Length];
        return Convert.TryFromBase64Chars(text, bytes, out var written) && written is >= MinBytes and <= MaxBytes
            && Convert.ToBase64String(bytes, 0, written).AsSpan().SequenceEqual(text)
            ? bytes[..written]
            : null;
    }

    public static bool IsValid(string? secret) => Key(secret) is not null;

    /// <summary>
    /// The settings <paramref name="next"/> as they are to be kept, given those in force (<paramref name="before"/>):
    /// a secret that replaces another keeps the other signing too, second, until <paramref name="overlap"/> has passed,
    /// so a receiver may switch at any moment of it; the same secret again changes nothing; no secret keeps none.
    /// </summary>
    public static OrganisationNotifications Carry(OrganisationNotifications next, OrganisationNotifications? before, DateTimeOffset now, TimeSpan overlap)
    {
        if (next.WebhookSecret is null)
        {
            return next with { PreviousWebhookSecret = null };
        }

        if (before?.WebhookSecret is { } old && !string.Equals(old, next.WebhookSecret, StringComparison.Ordinal))
        {
            return next with { PreviousWebhookSecret = overlap > TimeSpan.Zero ? new RetiringWebhookSecret(old, now + overlap) : null };
        }

        return next with { PreviousWebhookSecret = before?.PreviousWebhookSecret is { } previous && previous.Until > now ? previous : null };
    }
}
