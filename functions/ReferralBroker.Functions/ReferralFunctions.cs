using Microsoft.Azure.Functions.Worker;
using ReferralBroker.Gate;
using ReferralBroker.Referrals;

namespace ReferralBroker.Functions;

/// <summary>The organisations' referral API (<see cref="ReferralEndpoints"/>).</summary>
[Gate(Access.Organisation)]
internal sealed class ReferralFunctions(ReferralService referrals)
{
    [Function("SubmitReferral")]
    [Gate(Access.Organisation, Limit = OrganisationLimit.Submissions)]
    public async Task<IResult> Submit(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/referrals")] HttpRequest request, CancellationToken ct) =>
        await ReferralEndpoints.Submit(request, referrals, ct);

    [Function("ListReferrals")]
    public async Task<IResult> List(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/referrals")] HttpRequest request, CancellationToken ct) =>
        await ReferralEndpoints.List(request, referrals, ct);

    [Function("GetReferral")]
    public async Task<IResult> Get(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/referrals/{referralId}")] HttpRequest request, CancellationToken ct) =>
        await ReferralEndpoints.Get(request, referrals, ct);

    [Function("ResendReferral")]
    [Gate(Access.Organisation, Limit = OrganisationLimit.Submissions)]
    public async Task<IResult> Resend(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/referrals/{referralId}/resend")] HttpRequest request, CancellationToken ct) =>
        await ReferralEndpoints.Resend(request, referrals, ct);
}
