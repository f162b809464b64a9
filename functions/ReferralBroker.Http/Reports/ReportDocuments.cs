using System.Globalization;
using System.Text;
using System.Text.Json;
using ReferralBroker.Http;
using ReferralBroker.Lifecycle;
using ReferralBroker.Reports;

namespace ReferralBroker.Reports;

/// <summary>
/// The summary as JSON and as CSV. A suppressed count is the string "&lt;5" in both, so nobody mistakes it for a
/// zero; every other count is a number.
/// </summary>
internal static class ReportDocuments
{
    public const string Suppression =
        "Counts below 5 are shown as \"<5\". Only the cells of each calendar month's category-by-outcome table are counted; " +
        "every total and the acceptance rate add up published cells only (suppressedCells says how many \"<5\" cells a total leaves out), " +
        "so no subtraction within or between reports reveals a count below 5.";

    public static string Json(SummaryReport organisation, SummaryReport network)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("from", Month(organisation.FromMonth));
            json.WriteString("to", Month(organisation.ToMonth));
            json.WriteNumber("threshold", SummaryReport.Threshold);
            json.WriteString("suppression", Suppression);
            json.WritePropertyName("organisation");
            Write(json, organisation);
            json.WritePropertyName("network");
            Write(json, network);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Long format, one figure per line: scope, period, category, outcome, measure, value.</summary>
    public static string Csv(SummaryReport organisation, SummaryReport network)
    {
        var csv = new StringBuilder("scope,period,category,outcome,measure,value\r\n");
        foreach (var (scope, report) in new[] { ("organisation", organisation), ("network", network) })
        {
            var period = $"{Month(report.FromMonth)}..{Month(report.ToMonth)}";
            foreach (var month in report.Months)
            {
                foreach (var cell in month.Cells)
                {
                    Line(csv, scope, Month(month.Month), WireNames.Of(cell.Category), WireNames.Of(cell.Outcome), "count", cell.Count.ToString());
                }
            }

            foreach (var (category, total) in report.ByCategory)
            {
                Totals(csv, scope, period, WireNames.Of(category), "all", total);
            }

            foreach (var (outcome, total) in report.ByOutcome)
            {
                Totals(csv, scope, period, "all", WireNames.Of(outcome), total);
            }

            Totals(csv, scope, period, "all", "all", report.Total);
            Line(csv, scope, period, "all", "all", "acceptance-rate", Number(report.AcceptanceRate));
            Line(csv, scope, period, "all", "all", "median-hours-to-acceptance", Number(report.MedianHoursToAcceptance));
            Line(csv, scope, period, "all", "all", "median-hours-to-completion", Number(report.MedianHoursToCompletion));
        }

        return csv.ToString();
    }

    private static void Write(Utf8JsonWriter json, SummaryReport report)
    {
        json.WriteStartObject();
        json.WriteStartArray("months");
        foreach (var month in report.Months)
        {
            json.WriteStartObject();
            json.WriteString("month", Month(month.Month));
            json.WriteStartArray("cells");
            foreach (var cell in month.Cells)
            {
                json.WriteStartObject();
                json.WriteString("category", WireNames.Of(cell.Category));
                json.WriteString("outcome", WireNames.Of(cell.Outcome));
                WriteCount(json, cell.Count);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("byCategory");
        foreach (var (category, total) in report.ByCategory)
        {
            WriteTotal(json, "category", WireNames.Of(category), total);
        }

        json.WriteEndArray();
        json.WriteStartArray("byOutcome");
        foreach (var (outcome, total) in report.ByOutcome)
        {
            WriteTotal(json, "outcome", WireNames.Of(outcome), total);
        }

        json.WriteEndArray();
        json.WritePropertyName("total");
        WriteTotal(json, null, null, report.Total);
        WriteNullable(json, "acceptanceRate", report.AcceptanceRate);
        WriteNullable(json, "medianHoursToAcceptance", report.MedianHoursToAcceptance);
        WriteNullable(json, "medianHoursToCompletion", report.MedianHoursToCompletion);
        json.WriteEndObject();
    }

    private static void WriteCount(Utf8JsonWriter json, PublishedCount count)
    {
        if (count.Value is { } value)
        {
            json.WriteNumber("count", value);
        }
        else
        {
            json.WriteString("count", count.ToString());
        }
    }

    private static void WriteTotal(Utf8JsonWriter json, string? name, string? value, PublishedTotal total)
    {
        json.WriteStartObject();
        if (name is not null)
        {
            json.WriteString(name, value);
        }

        json.WriteNumber("count", total.Count);
        json.WriteNumber("suppressedCells", total.SuppressedCells);
        json.WriteEndObject();
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void Totals(StringBuilder csv, string scope, string period, string category, string outcome, PublishedTotal total)
    {
        Line(csv, scope, period, category, outcome, "count", total.Count.ToString(CultureInfo.InvariantCulture));
        Line(csv, scope, period, category, outcome, "suppressed-cells", total.SuppressedCells.ToString(CultureInfo.InvariantCulture));
    }

    // Every value here is a fixed word, a month or a number: nothing needs quoting, nothing can start a formula.
    // The values are the broker's own names and numbers, never free text; neutralised all the same, as every CSV is.
    private static void Line(StringBuilder csv, params string[] values) =>
        csv.Append(string.Join(',', values.Select(CsvCells.Neutralise))).Append("\r\n");

    private static string Number(double? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "";

    private static string Month(DateOnly month) => month.ToString("yyyy-MM", CultureInfo.InvariantCulture);
}
