using Microsoft.AspNetCore.Http.HttpResults;
using ReferralBroker.Gate;
using ReferralBroker.Http;
using ReferralBroker.Lifecycle;
using ReferralBroker.Referrals;

namespace ReferralBroker.Partners;

/// <summary>
/// The directory, and the partner's side of a referral. Partner calls carry no account: the capability derived
/// from the link secret in the partner's email is the only authority, sent in <see cref="CapabilityHeader"/>.
/// </summary>
internal static partial class PartnerEndpoints
{
    public const string CapabilityHeader = "X-Referral-Capability";

    public static IEndpointRouteBuilder MapPartners(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/partners", ListPartners).WithName("ListPartners").WithTags("Partners").RequireAccess(Access.Anyone)
            .Query("category", "Only partners providing this category.")
            .Query("language", "Only partners speaking this language (th also finds th-TH).")
            .Query("attribute", $"Only partners with every attribute given: {string.Join(", ", SafetyAttributes.All)}.", repeatable: true)
            .Refuses(StatusCodes.Status400BadRequest);
        routes.MapPost("/api/partners/{partnerId}/flags", Flag).WithName("FlagPartner").WithTags("Partners")
            .RequireAccess(Access.Organisation, OrganisationLimit.Flags)
            .Body<FlagRequest>().Refuses(StatusCodes.Status404NotFound, StatusCodes.Status422UnprocessableEntity);

        var partner = routes.MapGroup("/api/partner/referrals/{referralId}")
            .RequireAccess(Access.Partner)
            .WithTags("Partner");
        partner.MapGet("/", Get).WithName("PartnerGetReferral").Refuses(StatusCodes.Status404NotFound);
        partner.MapPost("/accept", Accept).WithName("PartnerAccept").NoBody().Refuses(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        partner.MapPost("/decline", Decline).WithName("PartnerDecline")
            .Body<DeclineRequest>().Refuses(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity);
        partner.MapPost("/progress", Progress).WithName("PartnerProgress")
            .Body<ProgressRequest>().Refuses(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity);
        return routes;
    }

    /// <summary>
    /// The directory, filtered: a category, a language (a primary tag such as "pt" also finds "pt-BR") and any
    /// number of safety attributes, all of which must hold.
    /// </summary>
    public static Results<Ok<IReadOnlyList<PartnerDirectoryEntry>>, ProblemHttpResult> ListPartners(
        HttpRequest request, INetworkDirectory directory)
    {
        var category = First(request.Query["category"]);
        var language = First(request.Query["language"]);
        string[] attribute = [.. request.Query["attribute"].OfType<string>()];
        var unknown = attribute.Where(a => !SafetyAttributes.All.Contains(a)).ToList();
        if (unknown.Count > 0)
        {
            return Problems.Malformed(new Dictionary<string, string[]>
            {
                ["attribute"] = [$"Unknown attribute '{unknown[0]}': one of {string.Join(", ", SafetyAttributes.All)}."],
            });
        }

        return TypedResults.Ok<IReadOnlyList<PartnerDirectoryEntry>>([.. directory.Partners
            .Where(p => category is null || p.Categories.Any(c => WireNames.Of(c) == category))
            .Where(p => language is null || p.Languages.Any(l => SpeaksLanguage(l, language)))
            .Where(p => attribute.All(p.Attributes.Contains))
            .Select(PartnerDirectoryEntry.Of)]);
    }

    /// <summary>
    /// An organisation flags a partner that breached a client's confidentiality: a reason from a short list and
    /// nothing else. Each organisation counts once; enough of them pause the partner for the coordinator's review.
    /// </summary>
    public static async Task<Results<Ok<FlagReceipt>, ProblemHttpResult>> Flag(
        HttpRequest request, NetworkAdministration administration, ILogger<NetworkAdministration> logger, CancellationToken ct)
    {
        var partnerId = request.Route("partnerId");
        var (reason, problem) = await ReadChoiceAsync(request, "reason", FlagReasons.All, ct);
        if (problem is not null)
        {
            return problem;
        }

        var organisationId = Callers.OrganisationOf(request).Id;
        switch (await administration.FlagAsync(organisationId, partnerId, reason!, ct))
        {
            case FlagOutcome.Recorded { PartnerPaused: var paused }:
                LogFlagged(logger, partnerId, organisationId, reason!, paused);
                return TypedResults.Ok(new FlagReceipt(partnerId, reason!));
            default:
                return Problems.NotFound();
        }
    }

    private static bool SpeaksLanguage(string spoken, string wanted) =>
        spoken.Equals(wanted, StringComparison.OrdinalIgnoreCase)
        || (spoken.Length > wanted.Length && spoken[wanted.Length] == '-' && spoken.StartsWith(wanted, StringComparison.OrdinalIgnoreCase));

    public static async Task<Results<Ok<PartnerReferralView>, ProblemHttpResult>> Get(
        HttpRequest request, ReferralService referrals, INetworkDirectory directory, CancellationToken ct) =>
        await referrals.FindForPartnerAsync(request.Route("referralId"), Capability(request), ct) is { } record
            ? TypedResults.Ok(PartnerReferralView.Of(record, directory))
            : Problems.NotFound();

    public static Task<Results<Ok<PartnerReferralView>, ProblemHttpResult>> Accept(
        HttpRequest request, ReferralService referrals, INetworkDirectory directory, CancellationToken ct) =>
        ActAsync(referrals, directory, request, ReferralEvent.Accept, null, ct);

    public static async Task<Results<Ok<PartnerReferralView>, ProblemHttpResult>> Decline(
        HttpRequest request, ReferralService referrals, INetworkDirectory directory, CancellationToken ct)
    {
        var (reason, problem) = await ReadChoiceAsync(request, "reason", WireNames.AllDeclineReasons, ct);
        if (problem is not null)
        {
            return problem;
        }

        DeclineReason? parsed = WireNames.TryParse(reason, out DeclineReason known) ? known : null;
        return await ActAsync(referrals, directory, request, ReferralEvent.Decline, parsed, ct);
    }

    public static async Task<Results<Ok<PartnerReferralView>, ProblemHttpResult>> Progress(
        HttpRequest request, ReferralService referrals, INetworkDirectory directory, CancellationToken ct)
    {
        var (status, problem) = await ReadChoiceAsync(request, "status", ["in-progress", "completed", "could-not-contact"], ct);
        if (problem is not null)
        {
            return problem;
        }

        var @event = status switch
        {
            "in-progress" => ReferralEvent.StartProgress,
            "completed" => ReferralEvent.Complete,
            _ => ReferralEvent.FailContact,
        };
        return await ActAsync(referrals, directory, request, @event, null, ct);
    }

    private static async Task<Results<Ok<PartnerReferralView>, ProblemHttpResult>> ActAsync(
        ReferralService referrals, INetworkDirectory directory, HttpRequest request, ReferralEvent @event, DeclineReason? reason, CancellationToken ct) =>
        await referrals.PartnerActAsync(request.Route("referralId"), Capability(request), @event, reason, ct) switch
        {
            ActionOutcome.Done { Referral: var r } => TypedResults.Ok(PartnerReferralView.Of(r, directory)),
            ActionOutcome.NotAllowed { Current: var current } =>
                Problems.Conflict($"The referral is {WireNames.Of(current)}; it cannot be {Verb(@event)} now."),
            _ => Problems.NotFound(),
        };

    private static async Task<(string? Value, ProblemHttpResult? Problem)> ReadChoiceAsync(
        HttpRequest request, string property, IEnumerable<string> allowed, CancellationToken ct)
    {
        var (value, problem) = await RequestBody.ReadSingleStringAsync(request, property, ct);
        return problem is not null || (value is not null && allowed.Contains(value))
            ? (value, problem)
            : (null, Problems.Invalid(new Dictionary<string, string[]> { [property] = [$"One of {string.Join(", ", allowed)}."] }));
    }

    private static string? Capability(HttpRequest request) => First(request.Headers[CapabilityHeader]);

    private static string? First(Microsoft.Extensions.Primitives.StringValues values) => values.Count > 0 ? values[0] : null;

    private static string Verb(ReferralEvent @event) => @event switch
    {
        ReferralEvent.Accept => "accepted",
        ReferralEvent.Decline => "declined",
        ReferralEvent.StartProgress => "marked in progress",
        ReferralEvent.Complete => "marked completed",
        _ => "marked could-not-contact",
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Partner {PartnerId} flagged by {OrganisationId} ({Reason}); paused: {Paused}")]
    private static partial void LogFlagged(ILogger logger, string partnerId, string organisationId, string reason, bool paused);
}
