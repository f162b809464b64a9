using System.ComponentModel;
using System.Text.Json;

namespace ReferralBroker.Http;

// The shapes of the bodies the handlers read by hand (SubmissionReader, RequestBody), and of the report they write by
// hand (ReportDocuments), for /openapi/v1.json only: nothing reads or writes through these types. A property added
// to a reader must be added here too; the rules themselves (lengths, consent) stay in the domain and the readers.

[Description("A referral the client consented to. Unknown properties are refused (400).")]
public sealed record SubmissionRequest(
    [property: Description("The service needed, one the partner provides (see GET /api/partners).")] string Category,
    [property: Description("The partner's id from GET /api/partners.")] string PartnerId,
    SubmissionConsent Consent,
    SubmissionClient Client,
    [property: Description("true: the answer also carries a duress token (README \"Duress token\").")] bool? DuressToken);

/// <summary>A referral marked deliveryFailed sent again: its details typed anew with the person, under its new consent.</summary>
public sealed record ResendRequest(SubmissionConsent Consent, SubmissionClient Client);

public sealed record SubmissionConsent(
    [property: Description("verbal, written or digital.")] string ObtainedBy,
    [property: Description("The client fields she agreed to share: exactly those present in client.")] IReadOnlyList<string> SharedFields,
    [property: Description("When her consent ends (ISO 8601); the referral and its details go by then.")] DateTimeOffset ExpiresAt);

[Description("Sealed for the partner as sent; the broker cannot read it and never stores it in the clear.")]
public sealed record SubmissionClient(
    [property: Description("At most 100 characters.")] string? FirstName,
    [property: Description("How the partner reaches her; at most 200 characters.")] string? Contact,
    [property: Description("client (the partner contacts her; contact is then required) or referrer (through the referring organisation).")] string? ContactVia,
    [property: Description("A BCP 47 tag such as th or es-MX.")] string? Language,
    [property: Description("At most 2000 characters.")] string? Needs);

public sealed record StatusTokenRequest([property: Description("The status code on the client's card.")] string Token);

public sealed record FlagRequest(
    [property: Description("shared-client-details-without-consent, contacted-police-or-immigration, demanded-identity-documents, exposed-client-identity or other-confidentiality-breach.")] string Reason);

public sealed record DeclineRequest([property: Description("no-capacity, not-eligible, cannot-contact or other.")] string Reason);

public sealed record ProgressRequest([property: Description("in-progress, completed or could-not-contact.")] string Status);

public sealed record OrganisationRequest(
    [property: Description("1 to 200 characters on one line.")] string Name,
    OrganisationNotificationsRequest? Notifications,
    [property: Description("Absent keeps the current setting; null restores the default (named, no contact).")] PartnerContactRequest? PartnerContact);

[Description("What partners see of the organisation in GET /api/partner/referrals/{referralId} (referrer).")]
public sealed record PartnerContactRequest(
    [property: Description("false: partners are not told the organisation's name.")] bool? Named,
    [property: Description("How a partner reaches the client through the organisation; at most 300 characters.")] string? Contact);

public sealed record StaffKeyRequest(
    [property: Description("1 to 100 characters on one line.")] string Name,
    [property: Description("caseworker or coordinator.")] string Role,
    [property: Description("Required for a caseworker (an existing organisation), absent for a coordinator.")] string? OrganisationId);

public sealed record OwnStaffKeyRequest([property: Description("1 to 100 characters on one line.")] string Name);

[Description("Where status notices go (they carry no client data). Absent or null: none.")]
public sealed record OrganisationNotificationsRequest(
    string? Email,
    [property: Description("An absolute https URL; it needs webhookSecret.")] Uri? WebhookUrl,
    [property: Description("Standard Webhooks form: whsec_ and the base64 of 24 to 64 random bytes (or have the broker generate one: "
        + "POST /api/admin/organisations/{organisationId}/webhook-secret). Absent keeps the secret already set; a different one replaces it, "
        + "the old one signing too for the overlap (Broker:Notifications:WebhookSecretOverlap); null removes both.")] string? WebhookSecret);

[Description("Counts of referrals by month of sending, for the caller's organisation and the whole network.")]
public sealed record SummaryReportDocument(
    [property: Description("yyyy-MM")] string From,
    [property: Description("yyyy-MM")] string To,
    int Threshold,
    string Suppression,
    SummaryReportScope Organisation,
    SummaryReportScope Network);

public sealed record SummaryReportScope(
    IReadOnlyList<SummaryReportMonth> Months,
    IReadOnlyList<SummaryReportTotal> ByCategory,
    IReadOnlyList<SummaryReportTotal> ByOutcome,
    SummaryReportTotal Total,
    double? AcceptanceRate,
    double? MedianHoursToAcceptance,
    double? MedianHoursToCompletion);

public sealed record SummaryReportMonth([property: Description("yyyy-MM")] string Month, IReadOnlyList<SummaryReportCell> Cells);

public sealed record SummaryReportCell(
    string Category,
    [property: Description("pending, accepted, completed, could-not-contact, declined, withdrawn, expired or undelivered.")] string Outcome,
    [property: Description("A number, or the string \"<5\".")] JsonElement Count);

public sealed record SummaryReportTotal(
    [property: Description("In byCategory only.")] string? Category,
    [property: Description("In byOutcome only.")] string? Outcome,
    int Count,
    [property: Description("How many \"<5\" cells the count leaves out.")] int SuppressedCells);
