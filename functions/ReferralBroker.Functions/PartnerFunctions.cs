using Microsoft.Azure.Functions.Worker;
using ReferralBroker.Gate;
using ReferralBroker.Partners;
using ReferralBroker.Referrals;

namespace ReferralBroker.Functions;

/// <summary>The directory, flags, and the partner's side of a referral (<see cref="PartnerEndpoints"/>).</summary>
internal sealed class PartnerFunctions(
    INetworkDirectory directory, NetworkAdministration administration, ReferralService referrals, ILogger<NetworkAdministration> logger)
{
    [Function("ListPartners")]
    [Gate(Access.Anyone)]
    public IResult ListPartners(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/partners")] HttpRequest request) =>
        PartnerEndpoints.ListPartners(request, directory);

    [Function("FlagPartner")]
    [Gate(Access.Organisation, Limit = OrganisationLimit.Flags)]
    public async Task<IResult> Flag(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/partners/{partnerId}/flags")] HttpRequest request, CancellationToken ct) =>
        await PartnerEndpoints.Flag(request, administration, logger, ct);

    [Function("PartnerGetReferral")]
    [Gate(Access.Partner)]
    public async Task<IResult> Get(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/partner/referrals/{referralId}")] HttpRequest request, CancellationToken ct) =>
        await PartnerEndpoints.Get(request, referrals, directory, ct);

    [Function("PartnerAccept")]
    [Gate(Access.Partner)]
    public async Task<IResult> Accept(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/partner/referrals/{referralId}/accept")] HttpRequest request, CancellationToken ct) =>
        await PartnerEndpoints.Accept(request, referrals, directory, ct);

    [Function("PartnerDecline")]
    [Gate(Access.Partner)]
    public async Task<IResult> Decline(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/partner/referrals/{referralId}/decline")] HttpRequest request, CancellationToken ct) =>
        await PartnerEndpoints.Decline(request, referrals, directory, ct);

    [Function("PartnerProgress")]
    [Gate(Access.Partner)]
    public async Task<IResult> Progress(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/partner/referrals/{referralId}/progress")] HttpRequest request, CancellationToken ct) =>
        await PartnerEndpoints.Progress(request, referrals, directory, ct);
}
