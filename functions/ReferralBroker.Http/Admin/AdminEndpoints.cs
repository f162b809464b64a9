using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using ReferralBroker.Gate;
using ReferralBroker.Hosting;
using ReferralBroker.Http;
using ReferralBroker.Partners;
using ReferralBroker.Referrals;

namespace ReferralBroker.Admin;

/// <summary>
/// The network coordinator's API: organisations (notification settings, API keys), partners (HSDS records,
/// pause and resume) and the whole directory in and out as HSDS JSON or CSV. Nothing here touches referrals:
/// the coordinator sees no client data, and flags carry none.
/// </summary>
internal static partial class AdminEndpoints
{
    /// <summary>A whole directory in one request: hundreds of full HSDS records (the spec's full example is 22 KB).</summary>
    public const int MaxImportBytes = 16 * 1024 * 1024;
    /// <summary>One partner's record: room for a full HSDS service (phones, contacts, locations, ...), far more than the referral API's 16 KiB.</summary>
    public const int MaxRecordBytes = 256 * 1024;
    private static readonly string[] OrganisationProperties = ["name", "notifications", PartnerContactSetting.Property];
    private static readonly string[] NotificationProperties = ["email", "webhookUrl", "webhookSecret"];
    private static readonly string[] OverlapValues = ["Only 'none' (the replaced secret stops signing at once), or leave it out for the configured overlap."];
    private static readonly string[] NullReferralEmail = ["Must be an address; leave the service out of referral_emails to keep the one it has."];
    private static readonly string[] DirectoryProperties = ["Not part of a directory: hsds_version, services and referral_emails."];

    public static RouteGroupBuilder MapAdmin(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup("/api/admin")
            .RequireAccess(Access.Coordinator)
            .WithTags("Admin");
        admin.MapGet("/organisations", ListOrganisations).WithName("AdminListOrganisations")
            .Produces<IReadOnlyList<OrganisationAdminView>>();
        admin.MapPut("/organisations/{organisationId}", PutOrganisation).WithName("AdminPutOrganisation")
            .Body<OrganisationRequest>().Produces<OrganisationAdminView>().Produces<OrganisationAdminView>(StatusCodes.Status201Created)
            .Refuses(StatusCodes.Status422UnprocessableEntity);
        admin.MapPost("/organisations/{organisationId}/key", IssueKey).WithName("AdminIssueKey").NoBody()
            .Produces<IssuedKey>().Refuses(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        admin.MapPost("/organisations/{organisationId}/webhook-secret", GenerateWebhookSecret).WithName("AdminGenerateWebhookSecret").NoBody()
            .Query("overlap", "none: the secret this replaces stops signing at once (it leaked), instead of signing beside the new one for the overlap.")
            .Produces<GeneratedWebhookSecret>(StatusCodes.Status201Created).Refuses(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        admin.MapDelete("/organisations/{organisationId}/key", RevokeKey).WithName("AdminRevokeKey")
            .Produces<OrganisationAdminView>().Refuses(StatusCodes.Status404NotFound);
        admin.MapPost("/organisations/{organisationId}/deactivate", Deactivate).WithName("AdminDeactivateOrganisation").NoBody()
            .Produces<OrganisationAdminView>().Refuses(StatusCodes.Status404NotFound);
        admin.MapPost("/organisations/{organisationId}/activate", Activate).WithName("AdminActivateOrganisation").NoBody()
            .Produces<OrganisationAdminView>().Refuses(StatusCodes.Status404NotFound);
        admin.MapGet("/partners", ListPartners).WithName("AdminListPartners")
            .Produces<IReadOnlyList<PartnerAdminView>>();
        admin.MapGet("/partners/{partnerId}", GetPartner).WithName("AdminGetPartner")
            .Produces<PartnerAdminView>().Refuses(StatusCodes.Status404NotFound);
        admin.MapPut("/partners/{partnerId}", PutPartner).WithName("AdminPutPartner")
            .Body<PartnerRecord>().Produces<PartnerAdminView>().Produces<PartnerAdminView>(StatusCodes.Status201Created)
            .Refuses(StatusCodes.Status422UnprocessableEntity);
        admin.MapPost("/partners/{partnerId}/pause", Pause).WithName("AdminPausePartner").NoBody()
            .Produces<PartnerAdminView>().Refuses(StatusCodes.Status404NotFound);
        admin.MapPost("/partners/{partnerId}/resume", Resume).WithName("AdminResumePartner").NoBody()
            .Produces<PartnerAdminView>().Refuses(StatusCodes.Status404NotFound);
        admin.MapDelete("/partners/{partnerId}", RemovePartner).WithName("AdminRemovePartner")
            .Refuses(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        admin.MapGet("/flags", ListFlags).WithName("AdminListFlags")
            .Produces<IReadOnlyList<NetworkFlagView>>();
        admin.MapGet("/directory", ExportJson).WithName("AdminExportDirectory")
            .Produces<HsdsDirectory>();
        admin.MapGet("/directory.csv", ExportCsv).WithName("AdminExportDirectoryCsv")
            .Produces<string>(StatusCodes.Status200OK, "text/csv");
        admin.MapPost("/directory", ImportJson).WithName("AdminImportDirectory")
            .Body<HsdsDirectory>().Produces<ImportResult>().Refuses(StatusCodes.Status422UnprocessableEntity);
        admin.MapPost("/directory.csv", ImportCsv).WithName("AdminImportDirectoryCsv")
            .Body<string>("text/csv").Produces<ImportResult>().Refuses(StatusCodes.Status422UnprocessableEntity);
        return admin;
    }

    public static JsonHttpResult<IReadOnlyList<OrganisationAdminView>> ListOrganisations(StoredNetworkDirectory directory, TimeProvider time) =>
        Json<IReadOnlyList<OrganisationAdminView>>([.. directory.Organisations.Select(a => OrganisationAdminView.Of(a, time.GetUtcNow()))]);

    public static async Task<Results<JsonHttpResult<OrganisationAdminView>, ProblemHttpResult>> PutOrganisation(
        HttpRequest request, NetworkAdministration administration, StoredNetworkDirectory directory,
        IOptions<BrokerOptions> options, TimeProvider time, ILogger<NetworkAdministration> logger, CancellationToken ct)
    {
        var organisationId = request.Route("organisationId");
        if (!HsdsMapping.IsId(organisationId))
        {
            return Rejected(new Dictionary<string, string[]> { ["id"] = ["1 to 64 characters of a-z, 0-9 and '-'."] });
        }

        if (await RequestBody.ReadAsync(request, ct) is not { } body)
        {
            return Problems.TooLarge(RequestBody.MaxBytes);
        }

        using var document = RequestBody.TryParse(body);
        if (document?.RootElement is not { ValueKind: JsonValueKind.Object } root)
        {
            return Problems.Malformed(RequestBody.NotJsonObject());
        }

        var malformed = new Dictionary<string, string[]>();
        var invalid = new Dictionary<string, string[]>();
        RequestBody.RejectUnknown(root, "", OrganisationProperties, malformed);
        var name = RequestBody.String(root, "name", "", malformed);
        if (name is null || name.Trim().Length == 0 || name.Length > 200 || name.Any(char.IsControl))
        {
            invalid["name"] = ["Required: 1 to 200 characters on one line."];
        }

        var existing = directory.Organisations.FirstOrDefault(o => o.Organisation.Id == organisationId)?.Organisation;
        var notifications = ReadNotifications(root, existing?.Notifications, options.Value.Notifications.AllowLoopbackHttpWebhooks, malformed, invalid);
        var partnerContact = PartnerContactSetting.Read(root, existing?.PartnerContact, malformed, invalid);
        if (malformed.Count > 0)
        {
            return Problems.Malformed(malformed);
        }

        if (invalid.Count > 0)
        {
            return Rejected(invalid);
        }

        var (account, created) = await administration.SaveOrganisationAsync(
            new Organisation(organisationId, name!, notifications!) { PartnerContact = partnerContact! }, ct);
        LogOrganisationSaved(logger, organisationId);
        return Json(OrganisationAdminView.Of(account, time.GetUtcNow()), created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    public static async Task<Results<JsonHttpResult<IssuedKey>, ProblemHttpResult>> IssueKey(
        HttpRequest request, NetworkAdministration administration, TimeProvider time, ILogger<NetworkAdministration> logger, CancellationToken ct)
    {
        var organisationId = request.Route("organisationId");
        switch (await administration.IssueKeyAsync(organisationId, ct))
        {
            case KeyIssue.Issued issued:
                // The key itself is in the response only: never logged, never stored.
                LogKeyIssued(logger, organisationId);
                return Json(new IssuedKey(organisationId, issued.ApiKey, time.GetUtcNow()));
            case KeyIssue.Deactivated:
                return Problems.Conflict("The organisation is deactivated: activate it first, then issue its key.");
            default:
                return Problems.NotFound();
        }
    }

    /// <summary>
    /// A new webhook secret the broker generated (Standard Webhooks form), in this answer only: never logged, sealed in
    /// storage, never shown again. The one it replaces keeps signing until <see cref="GeneratedWebhookSecret.PreviousSecretUntil"/>.
    /// </summary>
    public static async Task<Results<JsonHttpResult<GeneratedWebhookSecret>, ProblemHttpResult>> GenerateWebhookSecret(
        HttpRequest request, NetworkAdministration administration, TimeProvider time, ILogger<NetworkAdministration> logger, CancellationToken ct)
    {
        var organisationId = request.Route("organisationId");
        var overlap = request.Query["overlap"];
        if (overlap.Count > 1 || (overlap.Count == 1 && overlap[0] != "none"))
        {
            return Problems.Malformed(new Dictionary<string, string[]> { ["overlap"] = OverlapValues });
        }

        if (await administration.GenerateWebhookSecretAsync(organisationId, ct, withOverlap: overlap.Count == 0) is not var (account, secret))
        {
            return Problems.NotFound();
        }

        var previous = account.Organisation.Notifications.PreviousWebhookSecret;
        LogWebhookSecretGenerated(logger, organisationId, previous is null ? "no overlap" : "the previous secret signs too until the overlap ends");
        return Json(new GeneratedWebhookSecret(organisationId, secret, time.GetUtcNow(), previous?.Until), StatusCodes.Status201Created);
    }

    /// <summary>Forgets the key without issuing another; the organisation keeps everything else. Repeating it changes nothing.</summary>
    public static async Task<Results<JsonHttpResult<OrganisationAdminView>, ProblemHttpResult>> RevokeKey(
        HttpRequest request, NetworkAdministration administration, ILogger<NetworkAdministration> logger, CancellationToken ct)
    {
        var organisationId = request.Route("organisationId");
        if (await administration.RevokeKeyAsync(organisationId, ct) is not { } account)
        {
            return Problems.NotFound();
        }

        LogKeyRevoked(logger, organisationId);
        return Json(OrganisationAdminView.Of(account));
    }

    public static Task<Results<JsonHttpResult<OrganisationAdminView>, ProblemHttpResult>> Deactivate(
        HttpRequest request, NetworkAdministration administration, ILogger<NetworkAdministration> logger, CancellationToken ct) =>
        SetActiveAsync(request, false, administration, logger, ct);

    public static Task<Results<JsonHttpResult<OrganisationAdminView>, ProblemHttpResult>> Activate(
        HttpRequest request, NetworkAdministration administration, ILogger<NetworkAdministration> logger, CancellationToken ct) =>
        SetActiveAsync(request, true, administration, logger, ct);

    private static async Task<Results<JsonHttpResult<OrganisationAdminView>, ProblemHttpResult>> SetActiveAsync(
        HttpRequest request, bool active, NetworkAdministration administration, ILogger<NetworkAdministration> logger, CancellationToken ct)
    {
        var organisationId = request.Route("organisationId");
        if (await administration.SetActiveAsync(organisationId, active, ct) is not { } account)
        {
            return Problems.NotFound();
        }

        LogActiveSet(logger, organisationId, active ? "activated" : "deactivated");
        return Json(OrganisationAdminView.Of(account));
    }

    public static async Task<JsonHttpResult<IReadOnlyList<PartnerAdminView>>> ListPartners(
        StoredNetworkDirectory directory, NetworkAdministration administration, CancellationToken ct)
    {
        var views = new List<PartnerAdminView>();
        foreach (var partner in directory.Partners)
        {
            views.Add(PartnerAdminView.Of(partner, await administration.FlagsAsync(partner.Id, ct)));
        }

        return Json<IReadOnlyList<PartnerAdminView>>(views);
    }

    public static async Task<Results<JsonHttpResult<PartnerAdminView>, ProblemHttpResult>> GetPartner(
        HttpRequest request, StoredNetworkDirectory directory, NetworkAdministration administration, CancellationToken ct) =>
        directory.FindPartner(request.Route("partnerId")) is { } partner
            ? Json(PartnerAdminView.Of(partner, await administration.FlagsAsync(partner.Id, ct)))
            : Problems.NotFound();

    public static async Task<Results<JsonHttpResult<PartnerAdminView>, ProblemHttpResult>> PutPartner(
        HttpRequest request, NetworkAdministration administration, StoredNetworkDirectory directory, ILogger<NetworkAdministration> logger,
        CancellationToken ct)
    {
        var partnerId = request.Route("partnerId");
        var (record, problem) = await ReadJsonAsync(request, MaxRecordBytes, AdminJsonContext.Default.PartnerRecord, ct);
        if (problem is not null)
        {
            return problem;
        }

        var errors = new Dictionary<string, string[]>();
        if (record!.Service is null)
        {
            errors["service"] = ["Required: the partner's HSDS 3.0 service record."];
        }
        else if (HsdsMapping.ToPartner(record.Service, partnerId, record.ReferralEmail, "service", errors, directory.Partners) is { } partner)
        {
            ServiceIdTaken(partner, directory.Partners, "service.id", errors);
            if (errors.Count == 0)
            {
                var (saved, created) = await administration.SavePartnerAsync(partner, ct);
                LogPartnerSaved(logger, partnerId);
                return Json(PartnerAdminView.Of(saved, await administration.FlagsAsync(partnerId, ct)),
                    created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
            }
        }

        return Rejected(errors);
    }

    /// <summary>An HSDS service id is one partner's: another partner's record cannot take it.</summary>
    private static void ServiceIdTaken(Partner partner, IEnumerable<Partner> others, string path, Dictionary<string, string[]> errors)
    {
        if (partner.HsdsIds.TryGetValue(PartnerIds.Service, out var id)
            && others.FirstOrDefault(p => p.Id != partner.Id && p.HsdsIds.GetValueOrDefault(PartnerIds.Service) == id) is { } holder)
        {
            errors[path] = [$"Already the service id of partner '{holder.Id}'."];
        }
    }

    public static async Task<Results<JsonHttpResult<PartnerAdminView>, ProblemHttpResult>> Pause(
        HttpRequest request, NetworkAdministration administration, ILogger<NetworkAdministration> logger, CancellationToken ct)
    {
        var partnerId = request.Route("partnerId");
        if (await administration.PauseAsync(partnerId, ct) is not { } partner)
        {
            return Problems.NotFound();
        }

        LogPaused(logger, partnerId);
        return Json(PartnerAdminView.Of(partner, await administration.FlagsAsync(partnerId, ct)));
    }

    public static async Task<Results<JsonHttpResult<PartnerAdminView>, ProblemHttpResult>> Resume(
        HttpRequest request, NetworkAdministration administration, ILogger<NetworkAdministration> logger, CancellationToken ct)
    {
        var partnerId = request.Route("partnerId");
        if (await administration.ResumeAsync(partnerId, ct) is not { } partner)
        {
            return Problems.NotFound();
        }

        LogResumed(logger, partnerId);
        return Json(PartnerAdminView.Of(partner, []));
    }

    /// <summary>Only a paused partner: pausing is what stops new referrals reaching it, so it comes first.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> RemovePartner(
        HttpRequest request, NetworkAdministration administration, ILogger<NetworkAdministration> logger, CancellationToken ct)
    {
        var partnerId = request.Route("partnerId");
        switch (await administration.RemovePartnerAsync(partnerId, ct))
        {
            case PartnerRemoval.Removed:
                LogRemoved(logger, partnerId);
                return TypedResults.NoContent();
            case PartnerRemoval.StillActive:
                return Problems.Conflict("The partner is active: pause it first, then remove it.");
            default:
                return Problems.NotFound();
        }
    }

    /// <summary>
    /// Every flag in the network, newest first, with names to read by. A flag whose partner has gone (a removal
    /// racing a flag) is left out: there is nothing left to review.
    /// </summary>
    public static async Task<JsonHttpResult<IReadOnlyList<NetworkFlagView>>> ListFlags(
        StoredNetworkDirectory directory, NetworkAdministration administration, CancellationToken ct)
    {
        var flags = new List<NetworkFlagView>();
        foreach (var flag in await administration.AllFlagsAsync(ct))
        {
            if (directory.FindPartner(flag.PartnerId) is { } partner)
            {
                flags.Add(new NetworkFlagView(partner.Id, partner.Name, flag.OrganisationId,
                    directory.FindOrganisation(flag.OrganisationId)?.Name ?? flag.OrganisationId, flag.Reason, flag.FlaggedAt));
            }
        }

        return Json<IReadOnlyList<NetworkFlagView>>(flags);
    }

    /// <summary>The coordinator's backup: HSDS services, and the referral addresses beside them (never inside a service).</summary>
    public static JsonHttpResult<HsdsDirectory> ExportJson(StoredNetworkDirectory directory) =>
        Json(HsdsMapping.ToBackup(directory.Partners));

    public static ContentHttpResult ExportCsv(StoredNetworkDirectory directory) =>
        TypedResults.Text(DirectoryCsv.Write(directory.Partners), "text/csv; charset=utf-8");

    public static async Task<Results<JsonHttpResult<ImportResult>, ProblemHttpResult>> ImportJson(
        HttpRequest request, NetworkAdministration administration, StoredNetworkDirectory stored, ILogger<NetworkAdministration> logger,
        CancellationToken ct)
    {
        var (directory, problem) = await ReadJsonAsync(request, MaxImportBytes, AdminJsonContext.Default.HsdsDirectory, ct);
        if (problem is not null)
        {
            return problem;
        }

        var unknown = (directory!.Other ?? []).Keys.ToDictionary(k => k, _ => DirectoryProperties);
        if (unknown.Count > 0)
        {
            return Problems.Malformed(unknown);
        }

        var referralEmails = directory.ReferralEmails ?? new Dictionary<string, string>();
        var missing = referralEmails.Where(e => e.Value is null).ToDictionary(e => $"referral_emails.{e.Key}", _ => NullReferralEmail);
        if (missing.Count > 0)
        {
            return Rejected(missing);
        }

        var entries = (directory.Services ?? []).Select(s => s is null
            ? new DirectoryEntry(null, null, null)
            : new DirectoryEntry(s, null, s.Id is { } id ? referralEmails.GetValueOrDefault(id) : null)).ToList();
        return await ImportAsync(entries, "services", stored, administration, logger,
            i => entries[i].Service?.Id is { } id && referralEmails.ContainsKey(id) ? $"referral_emails.{id}" : $"services[{i}].email", ct);
    }

    public static async Task<Results<JsonHttpResult<ImportResult>, ProblemHttpResult>> ImportCsv(
        HttpRequest request, NetworkAdministration administration, StoredNetworkDirectory stored, ILogger<NetworkAdministration> logger,
        CancellationToken ct)
    {
        if (await RequestBody.ReadAsync(request, ct, MaxImportBytes) is not { } body)
        {
            return Problems.TooLarge(MaxImportBytes);
        }

        return DirectoryCsv.Read(Encoding.UTF8.GetString(body), out var error) is { } entries
            ? await ImportAsync(entries, "rows", stored, administration, logger, i => $"rows[{i}].referral_email", ct)
            : Problems.Malformed(new Dictionary<string, string[]> { [""] = [error!] });
    }

    /// <summary>All or nothing: every entry is checked before any is saved. Partners are added or updated by id.</summary>
    private static async Task<Results<JsonHttpResult<ImportResult>, ProblemHttpResult>> ImportAsync(
        List<DirectoryEntry> entries, string path, StoredNetworkDirectory directory, NetworkAdministration administration,
        ILogger<NetworkAdministration> logger, Func<int, string> referralPath, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var partners = new List<Partner>();
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Service is not { } service)
            {
                errors[$"{path}[{i}]"] = ["Must be an object."];
            }
            else if (HsdsMapping.ToPartner(service, entries[i].Slug, entries[i].ReferralEmail, $"{path}[{i}]", errors, directory.Partners,
                referralPath(i)) is { } partner)
            {
                ServiceIdTaken(partner, directory.Partners.Where(p => partners.All(q => q.Id != p.Id)).Concat(partners), $"{path}[{i}].id", errors);
                partners.Add(partner);
            }
        }

        var duplicate = partners.GroupBy(p => p.Id).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            errors[path] = [$"Partner '{duplicate.Key}' appears more than once."];
        }

        if (errors.Count > 0)
        {
            return Rejected(errors);
        }

        var created = 0;
        foreach (var partner in partners)
        {
            created += (await administration.SavePartnerAsync(partner, ct)).Created ? 1 : 0;
        }

        LogImported(logger, created, partners.Count - created);
        return Json(new ImportResult(created, partners.Count - created));
    }

    private static OrganisationNotifications? ReadNotifications(
        JsonElement root, OrganisationNotifications? current, bool allowLoopbackHttp, Dictionary<string, string[]> malformed, Dictionary<string, string[]> invalid)
    {
        if (!root.TryGetProperty("notifications", out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return new OrganisationNotifications(null, null, null);
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            malformed["notifications"] = ["Must be an object."];
            return null;
        }

        RequestBody.RejectUnknown(element, "notifications", NotificationProperties, malformed);
        var email = RequestBody.String(element, "email", "notifications", malformed);
        if (email is not null && !EmailAddresses.IsAddrSpec(email))
        {
            invalid["notifications.email"] = ["An email address for status notices (they carry no client data). " + EmailAddresses.Rule];
        }

        Uri? webhook = null;
        if (RequestBody.String(element, "webhookUrl", "notifications", malformed) is { } url)
        {
            // The rule the notification deliverer applies: a URL accepted here that it would refuse would never be called.
            // Internal hosts too (loopback, private, link-local, ...): see WebhookAddresses.
            if ((Uri.TryCreate(url, UriKind.Absolute, out webhook) ? ClosedLoop.WebhookUrlProblem(webhook, allowLoopbackHttp)
                    : "An absolute https URL without credentials or fragment.") is { } problem)
            {
                invalid["notifications.webhookUrl"] = [problem];
            }
        }

        // Absent keeps the secret already set (it is never shown, so it cannot be sent back); null removes it, and the
        // one a rotation replaced with it. A different one replaces it, the old one signing too for the overlap.
        var secret = current?.WebhookSecret;
        if (element.TryGetProperty("webhookSecret", out _))
        {
            secret = RequestBody.String(element, "webhookSecret", "notifications", malformed);
            if (secret is not null && !WebhookSecrets.IsValid(secret))
            {
                invalid["notifications.webhookSecret"] = [WebhookSecrets.Rule];
            }
        }

        if (webhook is not null && secret is null)
        {
            invalid["notifications.webhookSecret"] =
                ["A webhook needs a secret to sign its calls with: set one, or have the broker generate one (POST /api/admin/organisations/{id}/webhook-secret)."];
        }

        // A secret is kept without a webhook URL too: generated first, it waits for the URL.
        return new OrganisationNotifications(email, webhook, secret);
    }

    private static async Task<(T? Value, ProblemHttpResult? Problem)> ReadJsonAsync<T>(
        HttpRequest request, int maxBytes, JsonTypeInfo<T> type, CancellationToken ct)
        where T : class
    {
        if (await RequestBody.ReadAsync(request, ct, maxBytes) is not { } body)
        {
            return (null, Problems.TooLarge(maxBytes));
        }

        try
        {
            return JsonSerializer.Deserialize(body, type) is { } value
                ? (value, null)
                : (null, Problems.Malformed(RequestBody.NotJsonObject()));
        }
        catch (JsonException e)
        {
            var path = e.Path is { Length: > 1 } p ? p.TrimStart('$', '.') : "";
            return (null, Problems.Malformed(new Dictionary<string, string[]>
            {
                [path] = ["Not valid here: malformed JSON, a wrong type, or a property the directory does not know."],
            }));
        }
    }

    private static ProblemHttpResult Rejected(Dictionary<string, string[]> errors) =>
        Problems.Fields(StatusCodes.Status422UnprocessableEntity, "The record breaks a rule", errors);

    private static JsonHttpResult<T> Json<T>(T value, int status = StatusCodes.Status200OK) =>
        TypedResults.Json(value, (JsonTypeInfo<T>)AdminJsonContext.Default.GetTypeInfo(typeof(T))!, statusCode: status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Coordinator saved organisation {OrganisationId}")]
    private static partial void LogOrganisationSaved(ILogger logger, string organisationId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Coordinator issued a new API key for {OrganisationId}; the previous one no longer works")]
    private static partial void LogKeyIssued(ILogger logger, string organisationId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Coordinator had a webhook secret generated for {OrganisationId} ({Overlap})")]
    private static partial void LogWebhookSecretGenerated(ILogger logger, string organisationId, string overlap);

    [LoggerMessage(Level = LogLevel.Information, Message = "Coordinator revoked the API key of {OrganisationId}; it has none now")]
    private static partial void LogKeyRevoked(ILogger logger, string organisationId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Coordinator {Change} organisation {OrganisationId}")]
    private static partial void LogActiveSet(ILogger logger, string organisationId, string change);

    [LoggerMessage(Level = LogLevel.Information, Message = "Coordinator saved partner {PartnerId}")]
    private static partial void LogPartnerSaved(ILogger logger, string partnerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Coordinator paused partner {PartnerId}")]
    private static partial void LogPaused(ILogger logger, string partnerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Coordinator resumed partner {PartnerId} and cleared its flags")]
    private static partial void LogResumed(ILogger logger, string partnerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Coordinator removed partner {PartnerId} and its flags")]
    private static partial void LogRemoved(ILogger logger, string partnerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Coordinator imported the directory: {Created} partners added, {Updated} updated")]
    private static partial void LogImported(ILogger logger, int created, int updated);
}

/// <param name="PreviousWebhookSecretUntil">
/// During a rotation's overlap, when the replaced secret stops signing (deliveries carry both signatures until then).
/// </param>
public sealed record NotificationsAdminView(string? Email, Uri? WebhookUrl, bool WebhookSecretSet)
{
    public DateTimeOffset? PreviousWebhookSecretUntil { get; init; }
}

/// <summary>An organisation as the coordinator sees it: never its key, never its webhook secret.</summary>
public sealed record OrganisationAdminView(
    string Id, string Name, NotificationsAdminView Notifications, bool HasApiKey, DateTimeOffset? KeyIssuedAt, bool Active, DateTimeOffset? DeactivatedAt)
{
    /// <summary>Whether partners see the organisation's name, and the contact route they are given.</summary>
    public PartnerContactView PartnerContact { get; init; } = PartnerContactView.Of(ReferralBroker.Referrals.PartnerContact.Default);

    /// <param name="now">When given, an overlap that has ended (its secret not yet erased by the sweep) is not shown.</param>
    public static OrganisationAdminView Of(OrganisationAccount account, DateTimeOffset? now = null)
    {
        var n = account.Organisation.Notifications;
        var previousUntil = n.PreviousWebhookSecret?.Until is { } until && (now is null || until > now) ? until : (DateTimeOffset?)null;
        return new(account.Organisation.Id, account.Organisation.Name,
            new NotificationsAdminView(n.Email, n.WebhookUrl, n.WebhookSecret is not null) { PreviousWebhookSecretUntil = previousUntil },
            account.ApiKeySha256 is not null, account.KeyIssuedAt, account.Active, account.DeactivatedAt)
        {
            PartnerContact = PartnerContactView.Of(account.Organisation.PartnerContact),
        };
    }
}

/// <summary>Shown once: the broker keeps only its hash.</summary>
public sealed record IssuedKey(string OrganisationId, string ApiKey, DateTimeOffset IssuedAt);

/// <summary>
/// Shown once: the broker keeps it sealed and never returns it again. <paramref name="PreviousSecretUntil"/>: when a secret
/// was replaced, until when deliveries carry its signature too (newest first), so the receiver can switch meanwhile.
/// </summary>
public sealed record GeneratedWebhookSecret(string OrganisationId, string WebhookSecret, DateTimeOffset GeneratedAt, DateTimeOffset? PreviousSecretUntil);

public sealed record PauseView(string Cause, DateTimeOffset Since);

public sealed record FlagView(string OrganisationId, string Reason, DateTimeOffset FlaggedAt);

/// <summary>
/// A partner as the coordinator sees it: its id (the slug referrals name), its private referral address, and its
/// public HSDS 3.0 service record, which carries neither as a contact.
/// </summary>
public sealed record PartnerAdminView(string Id, string ReferralEmail, HsdsService Service, PauseView? Pause, IReadOnlyList<FlagView> Flags)
{
    public static PartnerAdminView Of(Partner partner, IReadOnlyList<PartnerFlag> flags) => new(
        partner.Id,
        partner.Email,
        HsdsMapping.ToHsds(partner),
        partner.Pause is { } pause ? new PauseView(pause.Cause == PauseCause.Flags ? "flags" : "coordinator", pause.Since) : null,
        [.. flags.Select(f => new FlagView(f.OrganisationId, f.Reason, f.FlaggedAt))]);
}

/// <summary>
/// The body of a partner's PUT: its HSDS 3.0 service record and where its referral links go (the service's own
/// email when left out).
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record PartnerRecord(string? ReferralEmail, HsdsService? Service);

public sealed record ImportResult(int Created, int Updated);

/// <summary>One organisation's flag on one partner, as the coordinator's review list shows it.</summary>
public sealed record NetworkFlagView(
    string PartnerId, string PartnerName, string OrganisationId, string OrganisationName, string Reason, DateTimeOffset FlaggedAt);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IReadOnlyList<OrganisationAdminView>))]
[JsonSerializable(typeof(OrganisationAdminView))]
[JsonSerializable(typeof(IssuedKey))]
[JsonSerializable(typeof(GeneratedWebhookSecret))]
[JsonSerializable(typeof(IReadOnlyList<PartnerAdminView>))]
[JsonSerializable(typeof(PartnerAdminView))]
[JsonSerializable(typeof(HsdsService))]
[JsonSerializable(typeof(PartnerRecord))]
[JsonSerializable(typeof(HsdsDirectory))]
[JsonSerializable(typeof(ImportResult))]
[JsonSerializable(typeof(IReadOnlyList<NetworkFlagView>))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;
