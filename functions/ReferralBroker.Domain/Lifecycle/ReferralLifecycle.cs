namespace ReferralBroker.Lifecycle;

/// <summary>
/// The one place that says which status change is allowed. Everything else (HTTP, storage, the sweep)
/// asks here instead of comparing statuses itself.
/// </summary>
public static class ReferralLifecycle
{
    // A partner can act on a referral still marked "submitted": the email is sent before the dispatcher
    // records delivery, so a quick partner may click before that write lands.
    private static readonly Dictionary<(ReferralStatus From, ReferralEvent Event), ReferralStatus> Transitions = new()
    {
        [(ReferralStatus.Submitted, ReferralEvent.Deliver)] = ReferralStatus.Delivered,
        [(ReferralStatus.Submitted, ReferralEvent.Accept)] = ReferralStatus.Accepted,
        [(ReferralStatus.Submitted, ReferralEvent.Decline)] = ReferralStatus.Declined,
        [(ReferralStatus.Delivered, ReferralEvent.Accept)] = ReferralStatus.Accepted,
        [(ReferralStatus.Delivered, ReferralEvent.Decline)] = ReferralStatus.Declined,
        [(ReferralStatus.Accepted, ReferralEvent.StartProgress)] = ReferralStatus.InProgress,
        // Reaching the client is the partner's first step after accepting, so it can fail right there.
        [(ReferralStatus.Accepted, ReferralEvent.FailContact)] = ReferralStatus.CouldNotContact,
        [(ReferralStatus.InProgress, ReferralEvent.Complete)] = ReferralStatus.Completed,
        [(ReferralStatus.InProgress, ReferralEvent.FailContact)] = ReferralStatus.CouldNotContact,

        [(ReferralStatus.Submitted, ReferralEvent.Withdraw)] = ReferralStatus.Withdrawn,
        [(ReferralStatus.Delivered, ReferralEvent.Withdraw)] = ReferralStatus.Withdrawn,
        [(ReferralStatus.Accepted, ReferralEvent.Withdraw)] = ReferralStatus.Withdrawn,
        [(ReferralStatus.InProgress, ReferralEvent.Withdraw)] = ReferralStatus.Withdrawn,

        // Expiry means nobody accepted before consent ran out; an accepted referral is being worked on.
        [(ReferralStatus.Submitted, ReferralEvent.Expire)] = ReferralStatus.Expired,
        [(ReferralStatus.Delivered, ReferralEvent.Expire)] = ReferralStatus.Expired,

        // The one loop: a referral the partner could never be emailed about is still "submitted" to nobody, and
        // only such a one (see MayResend) is sent again; its history records the second "submitted".
        [(ReferralStatus.Submitted, ReferralEvent.Resend)] = ReferralStatus.Submitted,
    };

    /// <summary>Whether the organisation may send the referral again: only when delivery failed and its details are gone.</summary>
    public static bool MayResend(ReferralStatus status, bool deliveryFailed) =>
        deliveryFailed && TryApply(status, ReferralEvent.Resend, out _);

    public static bool TryApply(ReferralStatus from, ReferralEvent @event, out ReferralStatus to) =>
        Transitions.TryGetValue((from, @event), out to);

    public static bool IsClosed(ReferralStatus status) => status is
        ReferralStatus.Declined or ReferralStatus.Completed or ReferralStatus.CouldNotContact
        or ReferralStatus.Withdrawn or ReferralStatus.Expired;

    /// <summary>Whether the partner may still read the sealed referral in this status.</summary>
    public static bool PartnerMayRead(ReferralStatus status) => status is
        ReferralStatus.Submitted or ReferralStatus.Delivered or ReferralStatus.Accepted
        or ReferralStatus.InProgress or ReferralStatus.Completed or ReferralStatus.CouldNotContact;

    /// <summary>Statuses after which the sealed referral must be destroyed at once.</summary>
    public static bool DestroysSealedReferral(ReferralStatus status) => status is
        ReferralStatus.Declined or ReferralStatus.Withdrawn or ReferralStatus.Expired;

    /// <summary>HL7 FHIR R4 Task.status for each broker status (documented in the README).</summary>
    public static string ToFhirTaskStatus(ReferralStatus status) => status switch
    {
        ReferralStatus.Submitted => "requested",
        ReferralStatus.Delivered => "received",
        ReferralStatus.Accepted => "accepted",
        ReferralStatus.Declined => "rejected",
        ReferralStatus.InProgress => "in-progress",
        ReferralStatus.Completed => "completed",
        ReferralStatus.CouldNotContact => "failed",
        ReferralStatus.Withdrawn => "cancelled",
        ReferralStatus.Expired => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };
}
