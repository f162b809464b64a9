using ReferralBroker.Lifecycle;
using ReferralBroker.Sealing;

namespace ReferralBroker.Referrals;

public sealed record StatusChange(ReferralStatus Status, DateTimeOffset At);

/// <summary>
/// Everything the broker keeps about one referral. Nothing here identifies the client: the token and the
/// partner's capability are present only as keyed hashes, and the client's details only as <see cref="Sealed"/>.
/// </summary>
public sealed record ReferralRecord
{
    public required string ReferralId { get; init; }
    public required string OrganisationId { get; init; }
    public required string PartnerId { get; init; }
    public required ServiceCategory Category { get; init; }
    public required ConsentMethod ConsentObtainedBy { get; init; }
    public required ReferralStatus Status { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
    /// <summary>Consent's end: an unaccepted referral expires then.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }
    public required string TokenHash { get; init; }
    public required string CapabilityHash { get; init; }
    public required IReadOnlyList<StatusChange> History { get; init; }
    public SealedReferral? Sealed { get; init; }
    /// <summary>When the sealed referral is destroyed if nothing destroys it sooner.</summary>
    public DateTimeOffset? SealedDeleteAt { get; init; }
    /// <summary>When this whole record is deleted.</summary>
    public required DateTimeOffset PurgeAt { get; init; }
    public DeclineReason? DeclineReason { get; init; }
    /// <summary>
    /// The partner could never be emailed (the message was dead-lettered or given up): the link secret is gone,
    /// so the sealed details were destroyed and the organisation should send the referral again.
    /// </summary>
    public bool DeliveryFailed { get; init; }

    /// <summary>
    /// Status changes the referring organisation has not yet been told about. They live in the record so that the
    /// write that changes the status is the same write that promises the notification: neither can be lost alone.
    /// </summary>
    public IReadOnlyList<PendingNotification> Notifications { get; init; } = [];

    /// <summary>Keyed hash of the optional duress token; like <see cref="TokenHash"/>, never the token.</summary>
    public string? DuressTokenHash { get; init; }

    /// <summary>When the duress token was first used: the client may be under pressure. Shown only to the organisation.</summary>
    public DateTimeOffset? DuressUsedAt { get; init; }

    /// <summary>When the next notification is due, if one is pending.</summary>
    public DateTimeOffset? NotifyAt => Notifications.Count == 0 ? null : Notifications.Min(n => n.NextAttemptAt);

    public DateTimeOffset? AcceptedAt => History.FirstOrDefault(h => h.Status == ReferralStatus.Accepted)?.At;
}

/// <summary>A stored value with the version the store saw, for optimistic concurrency.</summary>
public sealed record Versioned<T>(T Value, string Version);
