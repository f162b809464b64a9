namespace ReferralBroker.Lifecycle;

/// <summary>
/// The kebab-case words the public contract uses for the domain's enums. Kept as one table per enum so
/// that parsing and printing cannot drift apart.
/// </summary>
public static class WireNames
{
    private static readonly Dictionary<ReferralStatus, string> Statuses = new()
    {
        [ReferralStatus.Submitted] = "submitted",
        [ReferralStatus.Delivered] = "delivered",
        [ReferralStatus.Accepted] = "accepted",
        [ReferralStatus.Declined] = "declined",
        [ReferralStatus.InProgress] = "in-progress",
        [ReferralStatus.Completed] = "completed",
        [ReferralStatus.CouldNotContact] = "could-not-contact",
        [ReferralStatus.Withdrawn] = "withdrawn",
        [ReferralStatus.Expired] = "expired",
    };

    private static readonly Dictionary<ConsentMethod, string> ConsentMethods = new()
    {
        [ConsentMethod.Verbal] = "verbal",
        [ConsentMethod.Written] = "written",
        [ConsentMethod.Digital] = "digital",
    };

    private static readonly Dictionary<DeclineReason, string> DeclineReasons = new()
    {
        [DeclineReason.NoCapacity] = "no-capacity",
        [DeclineReason.NotEligible] = "not-eligible",
        [DeclineReason.CannotContact] = "cannot-contact",
        [DeclineReason.Other] = "other",
    };

    private static readonly Dictionary<Reports.ReportOutcome, string> ReportOutcomes = new()
    {
        [Reports.ReportOutcome.Pending] = "pending",
        [Reports.ReportOutcome.Accepted] = "accepted",
        [Reports.ReportOutcome.Completed] = "completed",
        [Reports.ReportOutcome.CouldNotContact] = "could-not-contact",
        [Reports.ReportOutcome.Declined] = "declined",
        [Reports.ReportOutcome.Withdrawn] = "withdrawn",
        [Reports.ReportOutcome.Expired] = "expired",
        [Reports.ReportOutcome.Undelivered] = "undelivered",
    };

    public static string Of(ReferralStatus value) => Statuses[value];
    public static string Of(ServiceCategory value) => value.Name;
    public static string Of(Reports.ReportOutcome value) => ReportOutcomes[value];
    public static bool TryParse(string? text, out Reports.ReportOutcome value) => TryParse(ReportOutcomes, text, out value);
    public static string Of(ConsentMethod value) => ConsentMethods[value];
    public static string Of(DeclineReason value) => DeclineReasons[value];

    public static bool TryParse(string? text, out ReferralStatus value) => TryParse(Statuses, text, out value);
    /// <summary>Any well-formed category: which ones a partner serves is the directory's business.</summary>
    public static bool TryParse(string? text, out ServiceCategory value) => ServiceCategory.TryCreate(text, out value);
    public static bool TryParse(string? text, out ConsentMethod value) => TryParse(ConsentMethods, text, out value);
    public static bool TryParse(string? text, out DeclineReason value) => TryParse(DeclineReasons, text, out value);

    /// <summary>The built-in categories; the directory may hold more (GET /api/partners lists them).</summary>
    public static IEnumerable<string> AllCategories => ServiceCategory.BuiltIn.Select(c => c.Name);
    public static IEnumerable<string> AllConsentMethods => ConsentMethods.Values;
    public static IEnumerable<string> AllDeclineReasons => DeclineReasons.Values;

    private static bool TryParse<T>(Dictionary<T, string> table, string? text, out T value)
        where T : struct, Enum
    {
        foreach (var (key, name) in table)
        {
            if (string.Equals(name, text, StringComparison.Ordinal))
            {
                value = key;
                return true;
            }
        }

        value = default;
        return false;
    }
}
