using ReferralBroker.Lifecycle;

namespace ReferralBroker.Intake;

/// <summary>The client fields a referral may carry. Anything else is refused before it reaches the broker.</summary>
public static class ClientFields
{
    public const string FirstName = "firstName";
    public const string Contact = "contact";
    public const string ContactVia = "contactVia";
    public const string Language = "language";
    public const string Needs = "needs";

    public static readonly IReadOnlyDictionary<string, int> MaxLength = new Dictionary<string, int>
    {
        [FirstName] = 100,
        [Contact] = 200,
        [ContactVia] = 16,
        [Language] = 35,
        [Needs] = 2000,
    };

    public static bool IsKnown(string name) => MaxLength.ContainsKey(name);
}

public sealed record ConsentStatement(ConsentMethod? ObtainedBy, IReadOnlyList<string> SharedFields, DateTimeOffset? ExpiresAt);

/// <summary>
/// A referral as an organisation submitted it. <see cref="ClientJson"/> is the client object exactly as sent: it
/// is sealed as is and never parsed for anything but the rules below.
/// </summary>
/// <param name="ValueErrors">Values the reader could not make sense of (an unknown category, a bad date), keyed
/// by JSON path; they are reported together with the consent rules' findings.</param>
public sealed record ReferralSubmission(
    ServiceCategory? Category,
    string? PartnerId,
    ConsentStatement? Consent,
    IReadOnlyDictionary<string, string> Client,
    byte[] ClientJson,
    IReadOnlyDictionary<string, string[]> ValueErrors,
    bool WantsDuressToken = false);

/// <summary>
/// Consent rules: nothing about the client is shared unless consent names it, and consent has an end.
/// Errors are keyed by the JSON path of the offending field.
/// </summary>
public static class ConsentRules
{
    public static Dictionary<string, string[]> Check(
        ReferralSubmission submission, Referrals.INetworkDirectory directory, DateTimeOffset now,
        Referrals.RetentionPolicy retention, out DateTimeOffset consentExpiresAt)
    {
        var errors = new Dictionary<string, string[]>(submission.ValueErrors);
        consentExpiresAt = now + retention.DefaultConsent;

        if (submission.Category is null && !errors.ContainsKey("category"))
        {
            errors["category"] = [$"Required: a category the partner provides, such as {string.Join(", ", WireNames.AllCategories)}."];
        }

        var partner = submission.PartnerId is null ? null : directory.FindPartner(submission.PartnerId);
        if (partner is null)
        {
            errors["partnerId"] = ["No partner with this id is in the network (see GET /api/partners)."];
        }
        else if (partner.Paused)
        {
            errors["partnerId"] = [$"Partner '{partner.Id}' is paused until the network coordinator has reviewed it: choose another partner."];
        }
        else if (submission.Category is { } category && !partner.Categories.Contains(category))
        {
            errors["category"] = [$"Partner '{partner.Id}' does not provide {WireNames.Of(category)} services."];
        }

        var consent = submission.Consent;
        if (consent is null)
        {
            errors["consent"] = ["The client's consent is required before anything is shared."];
        }
        else
        {
            if (consent.ObtainedBy is null && !errors.ContainsKey("consent.obtainedBy"))
            {
                errors["consent.obtainedBy"] = [$"Required: one of {string.Join(", ", WireNames.AllConsentMethods)}."];
            }

            foreach (var field in consent.SharedFields.Where(f => !ClientFields.IsKnown(f)))
            {
                errors["consent.sharedFields"] = [$"'{field}' is not a client field."];
            }

            if (consent.ExpiresAt is { } expiresAt)
            {
                if (expiresAt <= now)
                {
                    errors["consent.expiresAt"] = ["Consent must end in the future."];
                }
                else if (expiresAt > now + retention.MaxConsent)
                {
                    errors["consent.expiresAt"] = [$"Consent may last at most {retention.MaxConsent.TotalDays:0} days."];
                }
                else
                {
                    consentExpiresAt = expiresAt;
                }
            }
        }

        if (submission.Client.Count == 0)
        {
            errors["client"] = ["At least one client field is needed for the partner to act on the referral."];
        }

        foreach (var (field, value) in submission.Client)
        {
            if (consent is not null && !consent.SharedFields.Contains(field))
            {
                errors[$"client.{field}"] = ["Not listed in consent.sharedFields: the client has not agreed to share it."];
            }
            else if (value.Length > ClientFields.MaxLength[field])
            {
                errors[$"client.{field}"] = [$"At most {ClientFields.MaxLength[field]} characters."];
            }
        }

        if (submission.Client.TryGetValue(ClientFields.ContactVia, out var via))
        {
            if (via is not ("client" or "referrer"))
            {
                errors["client.contactVia"] = ["One of client, referrer."];
            }
            else if (via == "client" && !submission.Client.ContainsKey(ClientFields.Contact))
            {
                errors["client.contact"] = ["Required when contactVia is client: the partner needs a way to reach her."];
            }
        }

        return errors;
    }
}
