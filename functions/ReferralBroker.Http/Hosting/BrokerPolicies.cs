namespace ReferralBroker;

internal static class BrokerPolicies
{
    public const string Organisation = "organisation";
    public const string Coordinator = "coordinator";
    public const string StatusRateLimit = "status";
    public const string PartnerRateLimit = "partner";
}
