using System.Globalization;
using System.Text;
using System.Text.Json;
using ReferralBroker.Http;
using ReferralBroker.Intake;
using ReferralBroker.Lifecycle;

namespace ReferralBroker.Referrals;

/// <summary>
/// Turns a POST /api/referrals body into a <see cref="ReferralSubmission"/>. Shape errors (syntax, JSON types,
/// unknown properties) come back as <paramref name="malformed"/> for a 400; value errors travel in the
/// submission to be reported with the consent rules as a 422.
/// </summary>
internal static class SubmissionReader
{
    private static readonly string[] TopLevel = ["category", "partnerId", "consent", "client", "duressToken"];
    private static readonly string[] ResendTopLevel = ["consent", "client"];
    private static readonly string[] ConsentProperties = ["obtainedBy", "sharedFields", "expiresAt"];

    /// <summary>A POST /api/referrals/{id}/resend body: the client and consent of a submission, nothing else.</summary>
    public static ReferralSubmission? ReadResend(JsonElement root, out Dictionary<string, string[]> malformed)
    {
        malformed = [];
        if (root.ValueKind != JsonValueKind.Object)
        {
            malformed = RequestBody.NotJsonObject();
            return null;
        }

        RequestBody.RejectUnknown(root, "", ResendTopLevel, malformed);
        var valueErrors = new Dictionary<string, string[]>();
        var consent = ReadConsent(root, malformed, valueErrors);
        var (client, clientJson) = ReadClient(root, malformed);
        return malformed.Count > 0 ? null : new ReferralSubmission(null, null, consent, client, clientJson, valueErrors);
    }

    public static ReferralSubmission? Read(JsonElement root, out Dictionary<string, string[]> malformed)
    {
        malformed = [];
        if (root.ValueKind != JsonValueKind.Object)
        {
            malformed = RequestBody.NotJsonObject();
            return null;
        }

        RequestBody.RejectUnknown(root, "", TopLevel, malformed);
        var valueErrors = new Dictionary<string, string[]>();

        var categoryText = RequestBody.String(root, "category", "", malformed);
        ServiceCategory? category = null;
        if (categoryText is not null)
        {
            if (WireNames.TryParse(categoryText, out ServiceCategory parsed))
            {
                category = parsed;
            }
            else
            {
                valueErrors["category"] = [$"A category the partner provides, such as {string.Join(", ", WireNames.AllCategories)} (see GET /api/partners)."];
            }
        }

        var partnerId = RequestBody.String(root, "partnerId", "", malformed);
        var consent = ReadConsent(root, malformed, valueErrors);
        var (client, clientJson) = ReadClient(root, malformed);
        var wantsDuressToken = false;
        if (root.TryGetProperty("duressToken", out var duress))
        {
            wantsDuressToken = duress.ValueKind == JsonValueKind.True;
            if (duress.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                malformed["duressToken"] = ["true or false."];
            }
        }

        return malformed.Count > 0 ? null : new ReferralSubmission(category, partnerId, consent, client, clientJson, valueErrors, wantsDuressToken);
    }

    private static ConsentStatement? ReadConsent(JsonElement root, Dictionary<string, string[]> malformed, Dictionary<string, string[]> valueErrors)
    {
        if (!root.TryGetProperty("consent", out var consent) || consent.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (consent.ValueKind != JsonValueKind.Object)
        {
            malformed["consent"] = ["Must be an object."];
            return null;
        }

        RequestBody.RejectUnknown(consent, "consent", ConsentProperties, malformed);

        ConsentMethod? obtainedBy = null;
        if (RequestBody.String(consent, "obtainedBy", "consent", malformed) is { } method)
        {
            if (WireNames.TryParse(method, out ConsentMethod parsed))
            {
                obtainedBy = parsed;
            }
            else
            {
                valueErrors["consent.obtainedBy"] = [$"One of {string.Join(", ", WireNames.AllConsentMethods)}."];
            }
        }

        var shared = new List<string>();
        if (consent.TryGetProperty("sharedFields", out var fields) && fields.ValueKind != JsonValueKind.Null)
        {
            if (fields.ValueKind != JsonValueKind.Array || fields.EnumerateArray().Any(f => f.ValueKind != JsonValueKind.String))
            {
                malformed["consent.sharedFields"] = ["Must be an array of client field names."];
            }
            else
            {
                shared.AddRange(fields.EnumerateArray().Select(f => f.GetString()!));
            }
        }

        DateTimeOffset? expiresAt = null;
        if (RequestBody.String(consent, "expiresAt", "consent", malformed) is { } expires)
        {
            if (DateTimeOffset.TryParse(expires, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                expiresAt = parsed.ToUniversalTime();
            }
            else
            {
                valueErrors["consent.expiresAt"] = ["Must be an ISO 8601 date and time, e.g. 2026-12-22T00:00:00Z."];
            }
        }

        return new ConsentStatement(obtainedBy, shared, expiresAt);
    }

    private static (Dictionary<string, string> Fields, byte[] Json) ReadClient(JsonElement root, Dictionary<string, string[]> malformed)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!root.TryGetProperty("client", out var client) || client.ValueKind == JsonValueKind.Null)
        {
            return (fields, []);
        }

        if (client.ValueKind != JsonValueKind.Object)
        {
            malformed["client"] = ["Must be an object."];
            return (fields, []);
        }

        RequestBody.RejectUnknown(client, "client", [.. ClientFields.MaxLength.Keys], malformed);
        foreach (var property in client.EnumerateObject().Where(p => ClientFields.IsKnown(p.Name)))
        {
            if (RequestBody.String(client, property.Name, "client", malformed) is { } value)
            {
                fields[property.Name] = value;
            }
        }

        // Sealed exactly as the organisation sent it; the broker never keeps a parsed copy.
        return (fields, Encoding.UTF8.GetBytes(client.GetRawText()));
    }
}
