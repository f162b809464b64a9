using ReferralBroker.Lifecycle;

namespace ReferralBroker.Reports;

/// <summary>A published count: the number, or null when it is below the threshold and shown as "&lt;5".</summary>
public readonly record struct PublishedCount(int? Value)
{
    public bool Suppressed => Value is null;
    public override string ToString() => Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? $"<{SummaryReport.Threshold}";
}

/// <summary>A total made only of published cells, and how many "&lt;5" cells it leaves out.</summary>
public sealed record PublishedTotal(int Count, int SuppressedCells);

public sealed record ReportCell(ServiceCategory Category, ReportOutcome Outcome, PublishedCount Count);

public sealed record MonthTable(DateOnly Month, IReadOnlyList<ReportCell> Cells);

public sealed record SummaryReport(
    string? OrganisationId,
    DateOnly FromMonth,
    DateOnly ToMonth,
    IReadOnlyList<MonthTable> Months,
    IReadOnlyDictionary<ServiceCategory, PublishedTotal> ByCategory,
    IReadOnlyDictionary<ReportOutcome, PublishedTotal> ByOutcome,
    PublishedTotal Total,
    double? AcceptanceRate,
    int? MedianHoursToAcceptance,
    int? MedianHoursToCompletion)
{
    public const int Threshold = 5;

    /// <summary>Outcomes after which the partner had said yes, for the acceptance rate (withdrawals are left out).</summary>
    public static readonly ReportOutcome[] AcceptedOutcomes = [ReportOutcome.Accepted, ReportOutcome.Completed, ReportOutcome.CouldNotContact];

    /// <summary>
    /// The report over whole calendar months for one organisation (or the network when null). The guarantee, by
    /// construction: the only counts computed from stored data are the cells of one month's category × outcome
    /// table, each published exactly when it is at least <see cref="Threshold"/> and as "&lt;5" otherwise. Every other
    /// count (totals by category, by outcome, over several months) and the acceptance rate are computed from those
    /// published cells alone. So every report over any range is a function of the same published monthly cells, and
    /// no subtraction within a report or between any number of reports can tell more about a "&lt;5" cell than that
    /// it is below 5. Medians are order statistics, not counts: whole hours, over at least 5 referrals.
    /// </summary>
    public static SummaryReport Build(IEnumerable<ReportFact> facts, string? organisationId, DateOnly fromMonth, DateOnly toMonth)
    {
        var all = facts.ToList();
        // The same rows for every organisation and every range (built-in categories, then any the network has ever
        // used), so that which rows a report has depends on no one's referrals in that range.
        var categories = ServiceCategory.BuiltIn
            .Concat(all.Select(f => f.Category).Where(c => !ServiceCategory.BuiltIn.Contains(c)).Distinct().OrderBy(c => c.Name, StringComparer.Ordinal))
            .ToList();
        var scoped = all.Where(f => f.Month >= fromMonth && f.Month <= toMonth
            && (organisationId is null || f.OrganisationId == organisationId)).ToList();
        var months = new List<MonthTable>();
        for (var month = fromMonth; month <= toMonth; month = month.AddMonths(1))
        {
            var inMonth = scoped.Where(f => f.Month == month).ToList();
            months.Add(new MonthTable(month, [
                .. from category in categories
                   from outcome in Enum.GetValues<ReportOutcome>()
                   select new ReportCell(category, outcome, Publish(inMonth.Where(f => f.Category == category && f.Outcome == outcome).Sum(f => f.Count))),
            ]));
        }

        var cells = months.SelectMany(m => m.Cells).ToList();
        var byOutcome = Enum.GetValues<ReportOutcome>().ToDictionary(o => o, o => Sum(cells.Where(c => c.Outcome == o)));
        var accepted = AcceptedOutcomes.Select(o => byOutcome[o]).ToList();
        var decided = accepted.Append(byOutcome[ReportOutcome.Declined]).ToList();
        var acceptedCount = accepted.Sum(t => t.Count);
        var decidedCount = decided.Sum(t => t.Count);
        return new SummaryReport(
            organisationId,
            fromMonth,
            toMonth,
            months,
            categories.ToDictionary(c => c, c => Sum(cells.Where(cell => cell.Category == c))),
            byOutcome,
            Sum(cells),
            // Only from published cells, and only when none that it needs was suppressed: a rate must not be a way
            // to learn what a "<5" hides.
            decided.All(t => t.SuppressedCells == 0) && decidedCount >= Threshold ? Math.Round((double)acceptedCount / decidedCount, 2) : null,
            Median(scoped, f => f.HoursToAcceptance),
            Median(scoped, f => f.HoursToCompletion));
    }

    public static PublishedCount Publish(int count) => new(count >= Threshold ? count : null);

    private static PublishedTotal Sum(IEnumerable<ReportCell> cells)
    {
        var list = cells.ToList();
        return new PublishedTotal(list.Sum(c => c.Count.Value ?? 0), list.Count(c => c.Count.Suppressed));
    }

    private static int? Median(IEnumerable<ReportFact> facts, Func<ReportFact, int?> hours)
    {
        var values = facts.Where(f => hours(f) is not null).SelectMany(f => Enumerable.Repeat(hours(f)!.Value, f.Count)).Order().ToList();
        return values.Count < Threshold
            ? null
            : values.Count % 2 == 1 ? values[values.Count / 2] : (int)Math.Round((values[values.Count / 2 - 1] + values[values.Count / 2]) / 2.0, MidpointRounding.AwayFromZero);
    }
}
