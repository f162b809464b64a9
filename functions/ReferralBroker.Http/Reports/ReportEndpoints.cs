using Microsoft.AspNetCore.Http.HttpResults;
using ReferralBroker.Gate;
using ReferralBroker.Http;

namespace ReferralBroker.Reports;

/// <summary>Aggregate-only impact reports for an organisation and the whole network.</summary>
internal static class ReportEndpoints
{
    /// <summary>Bounds the work of one request; five years is more than any record or funder report needs.</summary>
    public const int MaxMonths = 60;

    public static RouteGroupBuilder MapReports(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/reports")
            .RequireAccess(Access.Organisation)
            .WithTags("Reports");
        group.MapGet("/summary", Summary).WithName("ReportSummary")
            .Query("from", "The first month (any date or instant in it); 11 months before this one by default.")
            .Query("to", $"The last month; this one by default; at most {MaxMonths} months after from.")
            .Query("format", "json or csv; without it, Accept: text/csv asks for CSV.")
            .Produces<SummaryReportDocument>().AlsoAnswersText("text/csv")
            .Refuses(StatusCodes.Status400BadRequest);
        return group;
    }

    public static async Task<Results<ContentHttpResult, ProblemHttpResult>> Summary(
        HttpRequest request, IReportSource source, TimeProvider time, CancellationToken ct)
    {
        var parameters = new QueryParameters(request.Query, "from", "to", "format");
        var thisMonth = ReportFact.MonthOf(time.GetUtcNow());
        // Whole calendar months only: the month of `from` to the month of `to`, both included.
        var from = parameters.Instant("from", endOfRange: false) is { } f ? ReportFact.MonthOf(f) : thisMonth.AddMonths(-11);
        var to = parameters.Instant("to", endOfRange: false) is { } t ? ReportFact.MonthOf(t) : thisMonth;
        var csv = parameters.Text("format") switch
        {
            null => request.Headers.Accept.Any(a => a?.Contains("text/csv", StringComparison.OrdinalIgnoreCase) == true),
            "csv" => true,
            "json" => false,
            _ => Refuse(parameters, "format", "csv or json."),
        };
        if (parameters.Errors.Count == 0 && (to < from || to > from.AddMonths(MaxMonths - 1)))
        {
            parameters.Errors["to"] = [$"On or after `from`, and at most {MaxMonths} months after it."];
        }

        if (parameters.Errors.Count > 0)
        {
            return Problems.Malformed(parameters.Errors);
        }

        var facts = new List<ReportFact>();
        await foreach (var fact in source.FactsAsync(from, to.AddMonths(1), ct))
        {
            facts.Add(fact);
        }

        var organisation = SummaryReport.Build(facts, Callers.OrganisationOf(request).Id, from, to);
        var network = SummaryReport.Build(facts, null, from, to);
        return csv
            ? TypedResults.Text(ReportDocuments.Csv(organisation, network), "text/csv; charset=utf-8")
            : TypedResults.Text(ReportDocuments.Json(organisation, network), "application/json; charset=utf-8");
    }

    private static bool Refuse(QueryParameters parameters, string name, string expected)
    {
        parameters.Errors[name] = [expected];
        return false;
    }
}
