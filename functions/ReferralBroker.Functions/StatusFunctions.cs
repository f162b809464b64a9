using Microsoft.Azure.Functions.Worker;
using ReferralBroker.Gate;
using ReferralBroker.Referrals;
using ReferralBroker.Status;

namespace ReferralBroker.Functions;

/// <summary>The client's status lookups, by API (<see cref="StatusEndpoints"/>) and by page (<see cref="StatusPageEndpoints"/>).</summary>
internal sealed class StatusFunctions(ReferralService referrals)
{
    [Function("CheckStatus")]
    [Gate(Access.ClientStatus)]
    public async Task<IResult> Check(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/status")] HttpRequest request, CancellationToken ct) =>
        await StatusEndpoints.Check(request, referrals, ct);

    [Function("Withdraw")]
    [Gate(Access.ClientStatus)]
    public async Task<IResult> Withdraw(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/status/withdraw")] HttpRequest request, CancellationToken ct) =>
        await StatusEndpoints.Withdraw(request, referrals, ct);

    [Function("StatusPage")]
    [Gate(Access.Anyone)]
    public static IResult Page([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "status")] HttpRequest request) =>
        StatusPageEndpoints.Form(request.HttpContext);

    [Function("StatusPageCheck")]
    [Gate(Access.ClientStatusPage)]
    public async Task<IResult> PageCheck(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "status")] HttpRequest request, CancellationToken ct) =>
        await StatusPageEndpoints.Check(request.HttpContext, referrals, ct);

    [Function("StatusPageWithdraw")]
    [Gate(Access.ClientStatusPage)]
    public async Task<IResult> PageConfirmWithdraw(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "status/withdraw")] HttpRequest request, CancellationToken ct) =>
        await StatusPageEndpoints.ConfirmWithdraw(request.HttpContext, referrals, ct);

    [Function("StatusPageWithdrawConfirm")]
    [Gate(Access.ClientStatusPage)]
    public async Task<IResult> PageWithdraw(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "status/withdraw/confirm")] HttpRequest request, CancellationToken ct) =>
        await StatusPageEndpoints.Withdraw(request.HttpContext, referrals, ct);
}
