using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;
using ReferralBroker.Gate;
using ReferralBroker.Http;
using ReferralBroker.Referrals;

namespace ReferralBroker.Admin;

/// <summary>
/// Staff members' personal keys: the coordinator issues them for anyone (<c>/api/admin/staff</c>), an organisation
/// for its own caseworkers with its system key (<c>/api/staff</c>); each is shown once, listed with name and last
/// use, revoked alone. And <c>/api/me</c>: who a key belongs to, for the pages to greet and check it.
/// </summary>
internal static partial class StaffEndpoints
{
    private const string CaseworkerRole = "caseworker";
    private const string CoordinatorRole = "coordinator";
    private static readonly string[] AdminProperties = ["name", "role", "organisationId"];
    private static readonly string[] OrganisationProperties = ["name"];

    public static IEndpointRouteBuilder MapStaff(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup("/api/admin/staff").RequireAccess(Access.Coordinator).WithTags("Admin");
        admin.MapPost("/", AdminIssue).WithName("AdminIssueStaffKey")
            .Body<StaffKeyRequest>().Produces<IssuedStaffKey>(StatusCodes.Status201Created)
            .Refuses(StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity);
        admin.MapGet("/", AdminList).WithName("AdminListStaff").Produces<IReadOnlyList<StaffView>>();
        admin.MapDelete("/{staffId}", AdminRevoke).WithName("AdminRevokeStaffKey").Refuses(StatusCodes.Status404NotFound);

        var own = routes.MapGroup("/api/staff").RequireAccess(Access.OrganisationSystem).WithTags("Staff");
        own.MapPost("/", OrganisationIssue).WithName("IssueStaffKey")
            .Body<OwnStaffKeyRequest>().Produces<IssuedStaffKey>(StatusCodes.Status201Created)
            .Refuses(StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity);
        own.MapGet("/", OrganisationList).WithName("ListStaff").Produces<IReadOnlyList<StaffView>>();
        own.MapDelete("/{staffId}", OrganisationRevoke).WithName("RevokeStaffKey").Refuses(StatusCodes.Status404NotFound);

        routes.MapGet("/api/me", Me).WithName("Me").WithTags("Staff").RequireAccess(Access.Staff).Produces<MeView>();
        return routes;
    }

    public static async Task<Results<JsonHttpResult<IssuedStaffKey>, ProblemHttpResult>> AdminIssue(
        HttpRequest request, StaffAdministration staff, ILogger<StaffAdministration> logger, CancellationToken ct)
    {
        var (root, problem) = await ReadObjectAsync(request, AdminProperties, ct);
        if (problem is not null)
        {
            return problem;
        }

        var malformed = new Dictionary<string, string[]>();
        var name = RequestBody.String(root, "name", "", malformed);
        var role = RequestBody.String(root, "role", "", malformed);
        var organisationId = RequestBody.String(root, "organisationId", "", malformed);
        if (malformed.Count > 0)
        {
            return Problems.Malformed(malformed);
        }

        var invalid = new Dictionary<string, string[]>();
        CheckName(name, invalid);
        StaffRole? parsed = role switch
        {
            CaseworkerRole => StaffRole.Caseworker,
            CoordinatorRole => StaffRole.Coordinator,
            _ => null,
        };
        if (parsed is null)
        {
            invalid["role"] = [$"One of {CaseworkerRole}, {CoordinatorRole}."];
        }
        else if (parsed == StaffRole.Caseworker && organisationId is null)
        {
            invalid["organisationId"] = ["Required for a caseworker: the organisation she works for."];
        }
        else if (parsed == StaffRole.Coordinator && organisationId is not null)
        {
            invalid["organisationId"] = ["A coordinator belongs to no organisation: leave it out."];
        }

        if (invalid.Count > 0)
        {
            return Rejected(invalid);
        }

        return await IssueAsync(staff, name!.Trim(), parsed!.Value, organisationId, "Coordinator", logger, ct);
    }

    public static async Task<JsonHttpResult<IReadOnlyList<StaffView>>> AdminList(StaffAdministration staff, CancellationToken ct) =>
        Json<IReadOnlyList<StaffView>>([.. (await staff.ListAsync(null, ct)).Select(StaffView.Of)]);

    public static Task<Results<NoContent, ProblemHttpResult>> AdminRevoke(
        HttpRequest request, StaffAdministration staff, ILogger<StaffAdministration> logger, CancellationToken ct) =>
        RevokeAsync(request, staff, null, "Coordinator", logger, ct);

    public static async Task<Results<JsonHttpResult<IssuedStaffKey>, ProblemHttpResult>> OrganisationIssue(
        HttpRequest request, StaffAdministration staff, ILogger<StaffAdministration> logger, CancellationToken ct)
    {
        var (root, problem) = await ReadObjectAsync(request, OrganisationProperties, ct);
        if (problem is not null)
        {
            return problem;
        }

        var malformed = new Dictionary<string, string[]>();
        var name = RequestBody.String(root, "name", "", malformed);
        if (malformed.Count > 0)
        {
            return Problems.Malformed(malformed);
        }

        var invalid = new Dictionary<string, string[]>();
        CheckName(name, invalid);
        if (invalid.Count > 0)
        {
            return Rejected(invalid);
        }

        var organisationId = Callers.OrganisationOf(request).Id;
        return await IssueAsync(staff, name!.Trim(), StaffRole.Caseworker, organisationId, $"Organisation {organisationId}", logger, ct);
    }

    public static async Task<JsonHttpResult<IReadOnlyList<StaffView>>> OrganisationList(
        HttpRequest request, StaffAdministration staff, CancellationToken ct) =>
        Json<IReadOnlyList<StaffView>>([.. (await staff.ListAsync(Callers.OrganisationOf(request).Id, ct)).Select(StaffView.Of)]);

    public static Task<Results<NoContent, ProblemHttpResult>> OrganisationRevoke(
        HttpRequest request, StaffAdministration staff, ILogger<StaffAdministration> logger, CancellationToken ct)
    {
        var organisationId = Callers.OrganisationOf(request).Id;
        return RevokeAsync(request, staff, organisationId, $"Organisation {organisationId}", logger, ct);
    }

    /// <summary>Who this key belongs to, from what the gate put on the request: nothing is looked up again.</summary>
    public static JsonHttpResult<MeView> Me(HttpRequest request)
    {
        var user = request.HttpContext.User;
        var organisationId = user.FindFirstValue(Callers.OrganisationIdClaim);
        return Json(new MeView(
            user.FindFirstValue(Callers.KindClaim)!,
            user.FindFirstValue(Callers.NameClaim)!,
            organisationId is null ? null : new MeOrganisation(organisationId, user.FindFirstValue(Callers.OrganisationNameClaim)!),
            user.FindFirstValue(Callers.StaffIdClaim)));
    }

    private static async Task<Results<JsonHttpResult<IssuedStaffKey>, ProblemHttpResult>> IssueAsync(
        StaffAdministration staff, string name, StaffRole role, string? organisationId, string issuer, ILogger logger, CancellationToken ct)
    {
        switch (await staff.IssueAsync(name, role, organisationId, ct))
        {
            case StaffIssue.Issued { Credential: var credential, Key: var key }:
                // The key is in the response only: never logged, never stored. Nor is the person's name logged.
                var roleName = RoleName(credential.Role);
                LogIssued(logger, issuer, credential.Id, roleName, credential.OrganisationId ?? "-");
                return Json(IssuedStaffKey.Of(credential, key), StatusCodes.Status201Created);
            case StaffIssue.Deactivated:
                return Problems.Conflict("The organisation is deactivated: activate it first, then issue its staff keys.");
            default:
                return Rejected(new Dictionary<string, string[]> { ["organisationId"] = ["No organisation has this id."] });
        }
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(
        HttpRequest request, StaffAdministration staff, string? organisationId, string issuer, ILogger logger, CancellationToken ct)
    {
        var staffId = request.Route("staffId");
        if (!await staff.RevokeAsync(staffId, organisationId, ct))
        {
            return Problems.NotFound();
        }

        LogRevoked(logger, issuer, staffId);
        return TypedResults.NoContent();
    }

    private static void CheckName(string? name, Dictionary<string, string[]> invalid)
    {
        if (name is null || name.Trim().Length == 0 || name.Trim().Length > StaffKeys.MaxNameLength || name.Any(char.IsControl))
        {
            invalid["name"] = [$"Required: 1 to {StaffKeys.MaxNameLength} characters on one line, the name colleagues know the person by."];
        }
    }

    private static async Task<(JsonElement Root, ProblemHttpResult? Problem)> ReadObjectAsync(
        HttpRequest request, IReadOnlyCollection<string> known, CancellationToken ct)
    {
        if (await RequestBody.ReadAsync(request, ct) is not { } body)
        {
            return (default, Problems.TooLarge(RequestBody.MaxBytes));
        }

        using var document = RequestBody.TryParse(body);
        if (document?.RootElement is not { ValueKind: JsonValueKind.Object } root)
        {
            return (default, Problems.Malformed(RequestBody.NotJsonObject()));
        }

        var malformed = new Dictionary<string, string[]>();
        RequestBody.RejectUnknown(root, "", known, malformed);
        // Cloned: the document is disposed on return.
        return malformed.Count > 0 ? (default, Problems.Malformed(malformed)) : (root.Clone(), null);
    }

    internal static string RoleName(StaffRole role) => role == StaffRole.Coordinator ? CoordinatorRole : CaseworkerRole;

    private static ProblemHttpResult Rejected(Dictionary<string, string[]> errors) =>
        Problems.Fields(StatusCodes.Status422UnprocessableEntity, "The staff key request breaks a rule", errors);

    private static JsonHttpResult<T> Json<T>(T value, int status = StatusCodes.Status200OK) =>
        TypedResults.Json(value, (JsonTypeInfo<T>)StaffJsonContext.Default.GetTypeInfo(typeof(T))!, statusCode: status);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Issuer} issued staff key {StaffId} ({Role}, organisation {OrganisationId})")]
    private static partial void LogIssued(ILogger logger, string issuer, string staffId, string role, string organisationId);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Issuer} revoked staff key {StaffId}; no other key changed")]
    private static partial void LogRevoked(ILogger logger, string issuer, string staffId);
}

/// <summary>A personal key as lists show it: never the key, never its hash.</summary>
/// <param name="LastUsedAt">The day (UTC midnight) it was last used; null until its first use.</param>
public sealed record StaffView(string StaffId, string Name, string Role, string? OrganisationId, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt)
{
    public static StaffView Of(StaffCredential c) => new(c.Id, c.Name, StaffEndpoints.RoleName(c.Role), c.OrganisationId, c.CreatedAt, c.LastUsedAt);
}

/// <summary>Shown once, at issue: the broker keeps only the key's hash.</summary>
public sealed record IssuedStaffKey(
    string StaffId, string Name, string Role, string? OrganisationId, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, string Key)
{
    public static IssuedStaffKey Of(StaffCredential c, string key) =>
        new(c.Id, c.Name, StaffEndpoints.RoleName(c.Role), c.OrganisationId, c.CreatedAt, c.LastUsedAt, key);
}

public sealed record MeOrganisation(string Id, string Name);

/// <param name="Kind">"organisation" (its system key), "caseworker" or "coordinator".</param>
/// <param name="StaffId">The personal key's id; null for an organisation's key and the configured coordinator key.</param>
public sealed record MeView(string Kind, string Name, MeOrganisation? Organisation, string? StaffId);

/// <summary>Nulls are written: a page tells "no organisation" and "never used" from a missing field.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(IReadOnlyList<StaffView>))]
[JsonSerializable(typeof(IssuedStaffKey))]
[JsonSerializable(typeof(MeView))]
internal sealed partial class StaffJsonContext : JsonSerializerContext;
