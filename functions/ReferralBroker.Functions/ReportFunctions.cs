using Microsoft.Azure.Functions.Worker;
using ReferralBroker.Gate;
using ReferralBroker.Reports;

namespace ReferralBroker.Functions;

/// <summary>Aggregate-only impact reports (<see cref="ReportEndpoints"/>).</summary>
[Gate(Access.Organisation)]
internal sealed class ReportFunctions(IReportSource source, TimeProvider time)
{
    [Function("ReportSummary")]
    public async Task<IResult> Summary(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/reports/summary")] HttpRequest request, CancellationToken ct) =>
        await ReportEndpoints.Summary(request, source, time, ct);
}
