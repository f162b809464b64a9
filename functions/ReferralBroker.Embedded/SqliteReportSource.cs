using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using ReferralBroker.Lifecycle;
using ReferralBroker.Reports;
using static ReferralBroker.Embedded.SqliteDatabase;

namespace ReferralBroker.Embedded;

/// <summary>Reports over the live records and the counters of purged ones, which the purge fills in the same transaction.</summary>
internal sealed class SqliteReportSource(SqliteDatabase database) : IReportSource
{
    private const string MonthFormat = "yyyy-MM";
    private const int None = -1;

    public async IAsyncEnumerable<ReportFact> FactsAsync(
        DateOnly fromMonth, DateOnly untilMonth, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var facts = new List<ReportFact>();
        await using (var connection = database.Open())
        {
            await using (var live = Command(connection, "SELECT record FROM referrals WHERE created_at >= $from AND created_at < $until",
                ("$from", Millis(Start(fromMonth))), ("$until", Millis(Start(untilMonth)))))
            await using (var reader = await live.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    facts.Add(ReportFact.Of(JsonSerializer.Deserialize(reader.GetString(0), StorageJsonContext.Default.ReferralRecord)!));
                }
            }

            await using var purged = Command(connection, """
                SELECT month, organisation_id, category, outcome, hours_to_acceptance, hours_to_completion, count
                FROM report_counters WHERE month >= $from AND month < $until
                """, ("$from", fromMonth.ToString(MonthFormat, CultureInfo.InvariantCulture)), ("$until", untilMonth.ToString(MonthFormat, CultureInfo.InvariantCulture)));
            await using var counters = await purged.ExecuteReaderAsync(cancellationToken);
            while (await counters.ReadAsync(cancellationToken))
            {
                facts.Add(new ReportFact(
                    DateOnly.ParseExact(counters.GetString(0) + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture),
                    counters.GetString(1),
                    ServiceCategory.TryCreate(counters.GetString(2), out var category)
                        ? category
                        : throw new InvalidDataException("A report counter holds no service category."),
                    Enum.Parse<ReportOutcome>(counters.GetString(3)),
                    counters.GetInt32(4) is var accepted and not None ? accepted : null,
                    counters.GetInt32(5) is var completed and not None ? completed : null,
                    counters.GetInt32(6)));
            }
        }

        foreach (var fact in facts)
        {
            yield return fact;
        }
    }

    public static (string, object?)[] Parameters(ReportFact fact) =>
    [
        ("$month", fact.Month.ToString(MonthFormat, CultureInfo.InvariantCulture)),
        ("$organisation", fact.OrganisationId),
        ("$category", fact.Category.ToString()),
        ("$outcome", fact.Outcome.ToString()),
        ("$accepted", fact.HoursToAcceptance ?? None),
        ("$completed", fact.HoursToCompletion ?? None),
    ];

    private static DateTimeOffset Start(DateOnly month) => new(month.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
}
