using System.Text.Json;
using System.Text.Json.Serialization;
using ReferralBroker.Lifecycle;
using ReferralBroker.Referrals;

namespace ReferralBroker.Http;

/// <param name="DuressToken">Only when asked for: a second token that looks unknown wherever it is used, and flags the referral.</param>
public sealed record SubmitResponse(string ReferralId, string StatusToken, string Status, DateTimeOffset ExpiresAt, string? DuressToken);

public sealed record HistoryEntry(string Status, DateTimeOffset At);

/// <param name="DuressUsedAt">Someone checked this referral with its duress token then: the client may be under pressure.</param>
public sealed record OrganisationReferralView(
    string ReferralId, string Category, string PartnerId, string Status, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt,
    IReadOnlyList<HistoryEntry> History, string? DeclineReason, bool? DeliveryFailed, DateTimeOffset? DuressUsedAt)
{
    public static OrganisationReferralView Of(ReferralRecord r) => new(
        r.ReferralId, WireNames.Of(r.Category), r.PartnerId, WireNames.Of(r.Status), r.CreatedAt, r.ExpiresAt,
        [.. r.History.Select(h => new HistoryEntry(WireNames.Of(h.Status), h.At))],
        r.DeclineReason is { } reason ? WireNames.Of(reason) : null,
        r.DeliveryFailed ? true : null,
        r.DuressUsedAt);
}

/// <param name="Continuation">Pass back as ?continuation= for the next page; absent on the last page.</param>
public sealed record ReferralListView(IReadOnlyList<OrganisationReferralView> Items, string? Continuation);

/// <summary>A partner as anyone may see it: never its referral email address.</summary>
public sealed record PartnerDirectoryEntry(string Id, string Name, IReadOnlyList<string> Categories, IReadOnlyList<string> Languages)
{
    public string? OrganisationName { get; init; }
    public string? Description { get; init; }
    public IReadOnlyList<string> ServiceAreas { get; init; } = [];
    public string? Hours { get; init; }
    public string? Accessibility { get; init; }
    public IReadOnlyList<string> Attributes { get; init; } = [];
    /// <summary>True while referrals to the partner are refused (paused by the coordinator or by flags).</summary>
    public bool Paused { get; init; }

    public static PartnerDirectoryEntry Of(Partner p) =>
        new(p.Id, p.Name, [.. p.Categories.Select(WireNames.Of)], p.Languages)
        {
            OrganisationName = p.Provider?.Name,
            Description = p.Description,
            ServiceAreas = p.ServiceAreas,
            Hours = p.Hours,
            Accessibility = p.Accessibility,
            Attributes = p.Attributes,
            Paused = p.Paused,
        };
}

public sealed record FlagReceipt(string PartnerId, string Reason);

public sealed record SealedView(int V, string Nonce, string Ciphertext);

/// <param name="DetailsDeletedBy">When the sealed details will be destroyed: the partner page tells the partner to
/// keep what she needs before then. Absent, like <paramref name="Sealed"/>, once they are gone.</param>
/// <param name="Referrer">Who referred, as the organisation chose to be shown to partners (its settings).</param>
public sealed record PartnerReferralView(
    string ReferralId, string Category, string Status, DateTimeOffset ExpiresAt, DateTimeOffset? DetailsDeletedBy, SealedView? Sealed,
    ReferrerView Referrer)
{
    public static PartnerReferralView Of(ReferralRecord r, INetworkDirectory directory) => new(
        r.ReferralId, WireNames.Of(r.Category), WireNames.Of(r.Status), r.ExpiresAt, Transitions.SealedGoneBy(r),
        r.Sealed is { } s ? new SealedView(s.V, s.Nonce, s.Ciphertext) : null,
        ReferrerView.Of(directory.FindOrganisation(r.OrganisationId)));
}

/// <summary>
/// The referring organisation as a partner sees it: its name unless it chose not to be named, and the contact
/// route it configured ("contact through the referring organisation"). Both written as null when absent.
/// </summary>
public sealed record ReferrerView(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Name,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Contact)
{
    public static ReferrerView Of(Organisation? organisation) => organisation is null
        ? new ReferrerView(null, null)
        : new ReferrerView(organisation.PartnerContact.Named ? organisation.Name : null, organisation.PartnerContact.Contact);
}

public sealed record HeldItem(string What, DateTimeOffset DeletedBy);

public sealed record ClientStatusView(string Status, string Category, DateTimeOffset UpdatedAt, DateTimeOffset ExpiresAt, IReadOnlyList<HeldItem> Held);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SubmitResponse))]
[JsonSerializable(typeof(OrganisationReferralView))]
[JsonSerializable(typeof(ReferralListView))]
[JsonSerializable(typeof(IReadOnlyList<PartnerDirectoryEntry>))]
[JsonSerializable(typeof(FlagReceipt))]
[JsonSerializable(typeof(PartnerReferralView))]
[JsonSerializable(typeof(ClientStatusView))]
[JsonSerializable(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails))]
[JsonSerializable(typeof(HttpValidationProblemDetails))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
