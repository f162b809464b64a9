using ReferralBroker.Lifecycle;

namespace ReferralBroker.Referrals;

/// <summary>
/// A partner service as the directory lists it (shaped after Open Referral HSDS: a service of a provider
/// organisation, with languages, areas, hours, accessibility and attributes). <see cref="Email"/> is where
/// referral links go: the broker's business only, never published (<see cref="PublicEmail"/> is the public one).
/// <see cref="Id"/>, the slug, is its id in the broker's API and in referrals; <see cref="HsdsIds"/> are the UUIDs
/// its HSDS record carries.
/// </summary>
public sealed record Partner(
    string Id,
    string Name,
    string Email,
    IReadOnlyList<ServiceCategory> Categories,
    IReadOnlyList<string> Languages)
{
    /// <summary>The organisation that provides the service (HSDS organization); defaults to the service itself.</summary>
    public PartnerProvider? Provider { get; init; }
    public string? Description { get; init; }
    public IReadOnlyList<string> ServiceAreas { get; init; } = [];
    /// <summary>Opening hours as people write them (HSDS schedule description), e.g. "Mon-Fri 10:00-18:00".</summary>
    public string? Hours { get; init; }
    public string? Accessibility { get; init; }
    /// <summary>Safety attributes from <see cref="SafetyAttributes"/>.</summary>
    public IReadOnlyList<string> Attributes { get; init; } = [];
    /// <summary>The contact address the partner publishes (HSDS service email), if any; never where referrals go.</summary>
    public string? PublicEmail { get; init; }
    /// <summary>
    /// The UUIDs of the partner's HSDS record and of each item in it, by <see cref="PartnerIds"/> key: minted once,
    /// kept across edits for the items that stay, so other tools can follow a record from one export to the next.
    /// </summary>
    public IReadOnlyDictionary<string, Guid> HsdsIds { get; init; } = PartnerIds.None;
    /// <summary>Set while referrals to the partner are refused: by the coordinator, or by organisations' flags.</summary>
    public PartnerPause? Pause { get; init; }

    public bool Paused => Pause is not null;
}

/// <param name="Id">The provider's slug: partners with the same one are services of one organisation, one HSDS organization UUID.</param>
public sealed record PartnerProvider(string Id, string Name)
{
    /// <summary>What the organisation is (HSDS organization description); its name stands in when there is none.</summary>
    public string? Description { get; init; }
}

public enum PauseCause
{
    Coordinator,
    Flags,
}

public sealed record PartnerPause(PauseCause Cause, DateTimeOffset Since);

/// <summary>Where the broker tells an organisation that one of its referrals changed. All optional.</summary>
/// <param name="WebhookSecret">Signs webhook events; a secret, never logged and never returned by an API.</param>
public sealed record OrganisationNotifications(string? Email, Uri? WebhookUrl, string? WebhookSecret)
{
    public static readonly OrganisationNotifications None = new(null, null, null);
}

public sealed record Organisation(string Id, string Name, OrganisationNotifications Notifications)
{
    /// <summary>What a partner is told of the organisation behind a referral; named and no contact unless it says otherwise.</summary>
    public PartnerContact PartnerContact { get; init; } = PartnerContact.Default;
}

/// <summary>
/// How a partner reaches the organisation that referred a client ("contact through the referring organisation"):
/// its name, unless it chose not to be named to partners, and a contact route of its choosing. Never a client's.
/// </summary>
/// <param name="Contact">One line, at most <see cref="MaxContactLength"/> characters, e.g. a phone number and hours.</param>
public sealed record PartnerContact(bool Named, string? Contact)
{
    public const int MaxContactLength = 300;

    public static readonly PartnerContact Default = new(true, null);
}

/// <summary>Who is in the network. Organisations are found by the hash of their API key, never the key.</summary>
public interface INetworkDirectory
{
    IReadOnlyList<Partner> Partners { get; }

    Partner? FindPartner(string partnerId);

    Organisation? FindOrganisationByKeyHash(string apiKeyHash);

    Organisation? FindOrganisation(string organisationId);
}

/// <summary>How long each kind of data lives. Every deadline the broker keeps is computed here.</summary>
public sealed record RetentionPolicy
{
    public TimeSpan DefaultConsent { get; init; } = TimeSpan.FromDays(30);
    public TimeSpan MaxConsent { get; init; } = TimeSpan.FromDays(90);
    public TimeSpan SealedAfterAcceptance { get; init; } = TimeSpan.FromDays(14);
    public TimeSpan StatusAfterClose { get; init; } = TimeSpan.FromDays(30);
    /// <summary>No record outlives this, counted from submission, whatever happens to it.</summary>
    public TimeSpan MaxRecordAge { get; init; } = TimeSpan.FromDays(180);
    public TimeSpan IdempotencyWindow { get; init; } = TimeSpan.FromHours(24);

    public DateTimeOffset PurgeAt(ReferralStatus status, DateTimeOffset createdAt, DateTimeOffset consentExpiresAt, DateTimeOffset now) =>
        status switch
        {
            // The README promises MaxRecordAge as the outer limit, even for a referral closed late.
            _ when ReferralLifecycle.IsClosed(status) => Min(now + StatusAfterClose, createdAt + MaxRecordAge),
            ReferralStatus.Accepted or ReferralStatus.InProgress => createdAt + MaxRecordAge,
            // Capped too: a referral sent again takes a new consent, which must not carry it past the outer limit.
            _ => Min(consentExpiresAt + StatusAfterClose, createdAt + MaxRecordAge),
        };

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
