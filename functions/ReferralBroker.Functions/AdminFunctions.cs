using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using ReferralBroker.Admin;
using ReferralBroker.Gate;
using ReferralBroker.Hosting;
using ReferralBroker.Referrals;

namespace ReferralBroker.Functions;

/// <summary>The network coordinator's API (<see cref="AdminEndpoints"/>).</summary>
[Gate(Access.Coordinator)]
internal sealed class AdminFunctions(
    StoredNetworkDirectory directory, NetworkAdministration administration, IOptions<BrokerOptions> options, TimeProvider time,
    ILogger<NetworkAdministration> logger)
{
    private const string Admin = "api/admin";

    [Function("AdminListOrganisations")]
    public IResult ListOrganisations([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Admin + "/organisations")] HttpRequest request) =>
        AdminEndpoints.ListOrganisations(directory);

    [Function("AdminPutOrganisation")]
    public async Task<IResult> PutOrganisation(
        [HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = Admin + "/organisations/{organisationId}")] HttpRequest request, CancellationToken ct) =>
        await AdminEndpoints.PutOrganisation(request, administration, directory, options, logger, ct);

    [Function("AdminIssueKey")]
    public async Task<IResult> IssueKey(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = Admin + "/organisations/{organisationId}/key")] HttpRequest request, CancellationToken ct) =>
        await AdminEndpoints.IssueKey(request, administration, time, logger, ct);

    [Function("AdminRevokeKey")]
    public async Task<IResult> RevokeKey(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = Admin + "/organisations/{organisationId}/key")] HttpRequest request, CancellationToken ct) =>
        await AdminEndpoints.RevokeKey(request, administration, logger, ct);

    [Function("AdminDeactivateOrganisation")]
    public async Task<IResult> Deactivate(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = Admin + "/organisations/{organisationId}/deactivate")] HttpRequest request, CancellationToken ct) =>
        await AdminEndpoints.Deactivate(request, administration, logger, ct);

    [Function("AdminActivateOrganisation")]
    public async Task<IResult> Activate(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = Admin + "/organisations/{organisationId}/activate")] HttpRequest request, CancellationToken ct) =>
        await AdminEndpoints.Activate(request, administration, logger, ct);

    [Function("AdminListPartners")]
    public async Task<IResult> ListPartners(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Admin + "/partners")] HttpRequest request, CancellationToken ct) =>
        await AdminEndpoints.ListPartners(directory, administration, ct);

    [Function("AdminGetPartner")]
    public async Task<IResult> GetPartner(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Admin + "/partners/{partnerId}")] HttpRequest request, CancellationToken ct) =>
        await AdminEndpoints.GetPartner(request, directory, administration, ct);

    [Function("AdminPutPartner")]
    public async Task<IResult> PutPartner(
        [HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = Admin + "/partners/{partnerId}")] HttpRequest request, CancellationToken ct) =>
        await AdminEndpoints.PutPartner(request, administration, directory, logger, ct);

    [Function("AdminPausePartner")]
    public async Task<IResult> Pause(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = Admin + "/partners/{partnerId}/pause")] HttpRequest request, CancellationToken ct) =>
        await AdminEndpoints.Pause(request, administration, logger, ct);

    [Function("AdminResumePartner")]
    public async Task<IResult> Resume(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = Admin + "/partners/{partnerId}/resume")] HttpRequest request, CancellationToken ct) =>
        await AdminEndpoints.Resume(request, administration, logger, ct);

    [Function("AdminRemovePartner")]
    public async Task<IResult> RemovePartner(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = Admin + "/partners/{partnerId}")] HttpRequest request, CancellationToken ct) =>
        await AdminEndpoints.RemovePartner(request, administration, logger, ct);

    [Function("AdminListFlags")]
    public async Task<IResult> ListFlags(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Admin + "/flags")] HttpRequest request, CancellationToken ct) =>
        await AdminEndpoints.ListFlags(directory, administration, ct);

    [Function("AdminExportDirectory")]
    public IResult ExportJson([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Admin + "/directory")] HttpRequest request) =>
        AdminEndpoints.ExportJson(directory);

    [Function("AdminExportDirectoryCsv")]
    public IResult ExportCsv([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Admin + "/directory.csv")] HttpRequest request) =>
        AdminEndpoints.ExportCsv(directory);

    [Function("AdminImportDirectory")]
    public async Task<IResult> ImportJson(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = Admin + "/directory")] HttpRequest request, CancellationToken ct) =>
        await AdminEndpoints.ImportJson(request, administration, directory, logger, ct);

    [Function("AdminImportDirectoryCsv")]
    public async Task<IResult> ImportCsv(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = Admin + "/directory.csv")] HttpRequest request, CancellationToken ct) =>
        await AdminEndpoints.ImportCsv(request, administration, directory, logger, ct);
}
