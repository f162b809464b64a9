namespace ReferralBroker.Lifecycle;

public enum ReferralStatus
{
    Submitted,
    Delivered,
    Accepted,
    Declined,
    InProgress,
    Completed,
    CouldNotContact,
    Withdrawn,
    Expired,
}

/// <summary>What happened to a referral; the lifecycle decides whether it may.</summary>
public enum ReferralEvent
{
    Deliver,
    Accept,
    Decline,
    StartProgress,
    Complete,
    FailContact,
    Withdraw,
    Expire,
}

public enum ServiceCategory
{
    Health,
    Legal,
    Employment,
}

public enum ConsentMethod
{
    Verbal,
    Written,
    Digital,
}

public enum DeclineReason
{
    NoCapacity,
    NotEligible,
    CannotContact,
    Other,
}
