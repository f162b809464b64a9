using Microsoft.Azure.Functions.Worker;
using ReferralBroker.Admin;
using ReferralBroker.Gate;
using ReferralBroker.Referrals;

namespace ReferralBroker.Functions;

/// <summary>Staff members' personal keys and "who am I" (<see cref="StaffEndpoints"/>).</summary>
internal sealed class StaffFunctions(StaffAdministration staff, ILogger<StaffAdministration> logger)
{
    [Function("AdminIssueStaffKey")]
    [Gate(Access.Coordinator)]
    public async Task<IResult> AdminIssue(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/admin/staff")] HttpRequest request, CancellationToken ct) =>
        await StaffEndpoints.AdminIssue(request, staff, logger, ct);

    [Function("AdminListStaff")]
    [Gate(Access.Coordinator)]
    public async Task<IResult> AdminList(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/admin/staff")] HttpRequest request, CancellationToken ct) =>
        await StaffEndpoints.AdminList(staff, ct);

    [Function("AdminRevokeStaffKey")]
    [Gate(Access.Coordinator)]
    public async Task<IResult> AdminRevoke(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/admin/staff/{staffId}")] HttpRequest request, CancellationToken ct) =>
        await StaffEndpoints.AdminRevoke(request, staff, logger, ct);

    [Function("IssueStaffKey")]
    [Gate(Access.OrganisationSystem)]
    public async Task<IResult> Issue(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/staff")] HttpRequest request, CancellationToken ct) =>
        await StaffEndpoints.OrganisationIssue(request, staff, logger, ct);

    [Function("ListStaff")]
    [Gate(Access.OrganisationSystem)]
    public async Task<IResult> List(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/staff")] HttpRequest request, CancellationToken ct) =>
        await StaffEndpoints.OrganisationList(request, staff, ct);

    [Function("RevokeStaffKey")]
    [Gate(Access.OrganisationSystem)]
    public async Task<IResult> Revoke(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/staff/{staffId}")] HttpRequest request, CancellationToken ct) =>
        await StaffEndpoints.OrganisationRevoke(request, staff, logger, ct);

    [Function("Me")]
    [Gate(Access.Staff)]
    public static IResult Me([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/me")] HttpRequest request) =>
        StaffEndpoints.Me(request);
}
