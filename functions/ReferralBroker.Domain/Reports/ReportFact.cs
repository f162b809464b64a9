using ReferralBroker.Lifecycle;
using ReferralBroker.Referrals;

namespace ReferralBroker.Reports;

/// <summary>Where a referral ended up, in the few groups reports use: fewer, larger cells are suppressed less.</summary>
public enum ReportOutcome
{
    /// <summary>Submitted or delivered, nobody has answered yet.</summary>
    Pending,
    /// <summary>Accepted or in progress.</summary>
    Accepted,
    Completed,
    CouldNotContact,
    Declined,
    Withdrawn,
    Expired,
    /// <summary>The partner could never be emailed.</summary>
    Undelivered,
}

/// <summary>
/// What reports know about referrals: counts by creation month, organisation, category and outcome, with the
/// whole hours to acceptance and to completion. No referral id, token hash, partner or exact time: this is also
/// what is kept, as counters, of a referral after its record is purged.
/// </summary>
public sealed record ReportFact(
    DateOnly Month,
    string OrganisationId,
    ServiceCategory Category,
    ReportOutcome Outcome,
    int? HoursToAcceptance,
    int? HoursToCompletion,
    int Count = 1)
{
    public static ReportFact Of(ReferralRecord record)
    {
        var accepted = record.AcceptedAt;
        var completed = record.History.FirstOrDefault(h => h.Status == ReferralStatus.Completed)?.At;
        return new ReportFact(
            MonthOf(record.CreatedAt),
            record.OrganisationId,
            record.Category,
            OutcomeOf(record),
            accepted is { } a ? WholeHours(a - record.CreatedAt) : null,
            completed is { } c ? WholeHours(c - record.CreatedAt) : null);
    }

    public static DateOnly MonthOf(DateTimeOffset at) => new(at.UtcDateTime.Year, at.UtcDateTime.Month, 1);

    public static ReportOutcome OutcomeOf(ReferralRecord record) => record switch
    {
        { DeliveryFailed: true } => ReportOutcome.Undelivered,
        { Status: ReferralStatus.Submitted or ReferralStatus.Delivered } => ReportOutcome.Pending,
        { Status: ReferralStatus.Accepted or ReferralStatus.InProgress } => ReportOutcome.Accepted,
        { Status: ReferralStatus.Completed } => ReportOutcome.Completed,
        { Status: ReferralStatus.CouldNotContact } => ReportOutcome.CouldNotContact,
        { Status: ReferralStatus.Declined } => ReportOutcome.Declined,
        { Status: ReferralStatus.Withdrawn } => ReportOutcome.Withdrawn,
        _ => ReportOutcome.Expired,
    };

    private static int WholeHours(TimeSpan span) => (int)Math.Max(0, Math.Round(span.TotalHours, MidpointRounding.AwayFromZero));
}

/// <summary>Where reports read from: live records and the counters kept of purged ones, by creation month.</summary>
public interface IReportSource
{
    /// <summary>Facts about referrals created in [<paramref name="fromMonth"/>, <paramref name="untilMonth"/>), every organisation.</summary>
    IAsyncEnumerable<ReportFact> FactsAsync(DateOnly fromMonth, DateOnly untilMonth, CancellationToken cancellationToken);
}
