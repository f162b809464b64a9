using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace ReferralBroker.Azure.Tests.ServiceBus;

/// <summary>
/// Checks a SharedAccessSignature the way Service Bus does, independently of the code under test: recompute
/// HMAC-SHA256(UTF-8 key, sr-as-sent + "\n" + se) and compare, then check resource, key name and expiry.
/// </summary>
internal static class SasVerifier
{
    private const string Prefix = "SharedAccessSignature ";

    public static bool IsValid(string? authorization, string expectedResource, string keyName, string key, DateTimeOffset now)
    {
        if (authorization is null || !authorization.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var fields = authorization[Prefix.Length..]
            .Split('&')
            .Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        if (!fields.TryGetValue("sr", out var sr) || !fields.TryGetValue("sig", out var sig)
            || !fields.TryGetValue("se", out var se) || !fields.TryGetValue("skn", out var skn))
        {
            return false;
        }

        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes($"{sr}\n{se}"));
        byte[] actual;
        try
        {
            actual = Convert.FromBase64String(WebUtility.UrlDecode(sig));
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(expected, actual)
            && WebUtility.UrlDecode(sr) == expectedResource
            && WebUtility.UrlDecode(skn) == keyName
            && long.TryParse(se, out var expiry)
            && DateTimeOffset.FromUnixTimeSeconds(expiry) > now;
    }
}
