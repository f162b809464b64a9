using ReferralBroker.Lifecycle;
using ReferralBroker.Reports;
using O = ReferralBroker.Reports.ReportOutcome;

namespace ReferralBroker.Tests.Domain;

public sealed class SummaryReportTests
{
    private static readonly DateOnly Jan = new(2026, 1, 1);
    private const string Org = "org-a";

    private static IEnumerable<ReportFact> Many(DateOnly month, ServiceCategory category, O outcome, int count, string org = Org,
        int? hoursToAcceptance = null, int? hoursToCompletion = null) =>
        Enumerable.Range(0, count).Select(_ => new ReportFact(month, org, category, outcome, hoursToAcceptance, hoursToCompletion));

    /// <summary>A year of a network: large and small cells, two organisations, times to acceptance and completion.</summary>
    private static List<ReportFact> Year() =>
    [
        .. Enumerable.Range(0, 12).SelectMany(m => Many(Jan.AddMonths(m), ServiceCategory.Health, O.Completed, 6 + m % 3, hoursToAcceptance: 10 + m, hoursToCompletion: 200 + m)),
        .. Enumerable.Range(0, 12).SelectMany(m => Many(Jan.AddMonths(m), ServiceCategory.Legal, O.Accepted, 5 + m % 2, hoursToAcceptance: 30)),
        .. Enumerable.Range(0, 12).SelectMany(m => Many(Jan.AddMonths(m), ServiceCategory.Legal, O.Declined, m % 4)),
        .. Enumerable.Range(0, 12).SelectMany(m => Many(Jan.AddMonths(m), ServiceCategory.Employment, O.Pending, 2, org: "org-b")),
        .. Many(Jan.AddMonths(3), ServiceCategory.Health, O.Declined, 7),
    ];

    private static string Json(IEnumerable<ReportFact> facts, DateOnly from, DateOnly to, string? org = Org) =>
        ReportDocuments.Json(SummaryReport.Build(facts, org, from, to), SummaryReport.Build(facts, null, from, to));

    private static string Csv(IEnumerable<ReportFact> facts, DateOnly from, DateOnly to) =>
        ReportDocuments.Csv(SummaryReport.Build(facts, Org, from, to), SummaryReport.Build(facts, null, from, to));

    [Fact]
    public void Counts_below_five_are_published_as_less_than_five_and_the_rest_exactly()
    {
        var report = SummaryReport.Build([.. Many(Jan, ServiceCategory.Legal, O.Declined, 4), .. Many(Jan, ServiceCategory.Health, O.Completed, 5)], Org, Jan, Jan);
        var cells = report.Months.Single().Cells;
        Assert.Equal("<5", cells.Single(c => c.Category == ServiceCategory.Legal && c.Outcome == O.Declined).Count.ToString());
        Assert.Equal(5, cells.Single(c => c.Category == ServiceCategory.Health && c.Outcome == O.Completed).Count.Value);
        Assert.Equal("<5", cells.Single(c => c.Category == ServiceCategory.Employment && c.Outcome == O.Pending).Count.ToString());
        Assert.Equal(new PublishedTotal(5, 23), report.Total);
        Assert.Equal(new PublishedTotal(0, 8), report.ByCategory[ServiceCategory.Legal]);
    }

    /// <summary>
    /// The attacker's two moves: subtract the published cells of a row or column from its total, and difference two
    /// reports over overlapping ranges. Both fail if adding one referral to a small cell changes no report at all:
    /// then nothing published, alone or combined, depends on it.
    /// </summary>
    [Theory]
    [InlineData(O.Declined, "legal", 1)]   // legal/declined in February is 1: becomes 2
    [InlineData(O.Withdrawn, "health", 0)] // an empty cell becomes 1: a lone referral appears
    [InlineData(O.Pending, "employment", 2)] // org-b's cell; org-a and network reports both
    public void One_more_referral_in_a_small_cell_changes_no_report_over_any_range_so_no_subtraction_can_find_it(
        O outcome, string categoryName, int before)
    {
        Assert.True(ServiceCategory.TryCreate(categoryName, out var category));
        var year = Year();
        var feb = Jan.AddMonths(1);
        Assert.Equal(before, year.Count(f => f.Month == feb && f.Category == category && f.Outcome == outcome && f.OrganisationId == (category == ServiceCategory.Employment ? "org-b" : Org)));
        List<ReportFact> withOneMore = [.. year, new ReportFact(feb, category == ServiceCategory.Employment ? "org-b" : Org, category, outcome, null, null)];

        for (var from = Jan; from < Jan.AddMonths(12); from = from.AddMonths(1))
        {
            for (var to = from; to < Jan.AddMonths(12); to = to.AddMonths(1))
            {
                foreach (var org in new[] { Org, "org-b" })
                {
                    Assert.Equal(Json(year, from, to, org), Json(withOneMore, from, to, org));
                }

                Assert.Equal(Csv(year, from, to), Csv(withOneMore, from, to));
            }
        }
    }

    [Fact]
    public void A_published_cell_is_the_same_in_every_report_that_covers_its_month()
    {
        var year = Year();
        var march = SummaryReport.Build(year, null, Jan.AddMonths(2), Jan.AddMonths(2)).Months.Single();
        foreach (var (from, to) in new[] { (Jan, Jan.AddMonths(11)), (Jan.AddMonths(1), Jan.AddMonths(2)), (Jan.AddMonths(2), Jan.AddMonths(5)) })
        {
            var inRange = SummaryReport.Build(year, null, from, to).Months.Single(m => m.Month == march.Month);
            Assert.Equal(march.Cells, inRange.Cells);
        }

        // And a total is exactly the sum of the published cells it covers.
        var report = SummaryReport.Build(year, null, Jan, Jan.AddMonths(11));
        Assert.Equal(report.Months.SelectMany(m => m.Cells).Sum(c => c.Count.Value ?? 0), report.Total.Count);
        Assert.Equal(report.Months.SelectMany(m => m.Cells).Where(c => c.Category == ServiceCategory.Legal).Sum(c => c.Count.Value ?? 0),
            report.ByCategory[ServiceCategory.Legal].Count);
    }

    [Fact]
    public void Rates_and_medians_appear_only_over_five_or_more_and_only_from_published_cells()
    {
        // Health: 6 completed a month, accepted after 10 hours and completed after 200. No declined health or legal.
        List<ReportFact> clear = [.. Many(Jan, ServiceCategory.Health, O.Completed, 6, hoursToAcceptance: 10, hoursToCompletion: 200),
            .. Many(Jan, ServiceCategory.Health, O.Declined, 6)];
        var report = SummaryReport.Build(clear, Org, Jan, Jan);
        Assert.Null(report.AcceptanceRate); // the zero legal/declined cells are "<5" too: the rate could reveal them
        Assert.Equal(10, report.MedianHoursToAcceptance);
        Assert.Equal(200, report.MedianHoursToCompletion);

        var full = ServiceCategory.BuiltIn.SelectMany(c => new[] { O.Accepted, O.Completed, O.CouldNotContact, O.Declined }
            .SelectMany(o => Many(Jan, c, o, o == O.Declined ? 5 : 5, hoursToAcceptance: o == O.Declined ? null : 4))).ToList();
        Assert.Equal(0.75, SummaryReport.Build(full, Org, Jan, Jan).AcceptanceRate);

        var four = SummaryReport.Build([.. Many(Jan, ServiceCategory.Health, O.Completed, 4, hoursToAcceptance: 10, hoursToCompletion: 20)], Org, Jan, Jan);
        Assert.Null(four.MedianHoursToAcceptance);
        Assert.Null(four.MedianHoursToCompletion);
    }

    [Fact]
    public void An_organisation_report_counts_only_its_own_referrals_and_the_network_report_everyone()
    {
        List<ReportFact> facts = [.. Many(Jan, ServiceCategory.Health, O.Completed, 5), .. Many(Jan, ServiceCategory.Health, O.Completed, 7, org: "org-b")];
        Assert.Equal(5, SummaryReport.Build(facts, Org, Jan, Jan).Total.Count);
        Assert.Equal(7, SummaryReport.Build(facts, "org-b", Jan, Jan).Total.Count);
        Assert.Equal(12, SummaryReport.Build(facts, null, Jan, Jan).Total.Count);
    }
}
