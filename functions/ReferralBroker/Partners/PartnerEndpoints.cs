using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using ReferralBroker.Hosting;
using ReferralBroker.Http;
using ReferralBroker.Lifecycle;
using ReferralBroker.Referrals;

namespace ReferralBroker.Partners;

/// <summary>
/// The directory, and the partner's side of a referral. Partner calls carry no account: the capability derived
/// from the link secret in the partner's email is the only authority, sent in <see cref="CapabilityHeader"/>.
/// </summary>
internal static class PartnerEndpoints
{
    public const string CapabilityHeader = "X-Referral-Capability";

    public static IEndpointRouteBuilder MapPartners(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/partners", ListPartners).WithName("ListPartners").WithTags("Partners");

        var partner = routes.MapGroup("/api/partner/referrals/{referralId}")
            .RequireRateLimiting(BrokerPolicies.PartnerRateLimit)
            .AddEndpointFilter<GuessingGuard>()
            .WithTags("Partner");
        partner.MapGet("/", Get).WithName("PartnerGetReferral");
        partner.MapPost("/accept", Accept).WithName("PartnerAccept");
        partner.MapPost("/decline", Decline).WithName("PartnerDecline");
        partner.MapPost("/progress", Progress).WithName("PartnerProgress");
        return routes;
    }

    public static Ok<IReadOnlyList<PartnerDirectoryEntry>> ListPartners(INetworkDirectory directory) =>
        TypedResults.Ok<IReadOnlyList<PartnerDirectoryEntry>>([.. directory.Partners.Select(p =>
            new PartnerDirectoryEntry(p.Id, p.Name, [.. p.Categories.Select(WireNames.Of)], p.Languages))]);

    public static async Task<Results<Ok<PartnerReferralView>, ProblemHttpResult>> Get(
        string referralId, [FromHeader(Name = CapabilityHeader)] string? capability, ReferralService referrals, CancellationToken ct) =>
        await referrals.FindForPartnerAsync(referralId, capability, ct) is { } record
            ? TypedResults.Ok(PartnerReferralView.Of(record))
            : Problems.NotFound();

    public static Task<Results<Ok<PartnerReferralView>, ProblemHttpResult>> Accept(
        string referralId, [FromHeader(Name = CapabilityHeader)] string? capability, ReferralService referrals, CancellationToken ct) =>
        ActAsync(referrals, referralId, capability, ReferralEvent.Accept, null, ct);

    public static async Task<Results<Ok<PartnerReferralView>, ProblemHttpResult>> Decline(
        string referralId, [FromHeader(Name = CapabilityHeader)] string? capability, HttpRequest request,
        ReferralService referrals, CancellationToken ct)
    {
        var (reason, problem) = await ReadChoiceAsync(request, "reason", WireNames.AllDeclineReasons, ct);
        if (problem is not null)
        {
            return problem;
        }

        DeclineReason? parsed = WireNames.TryParse(reason, out DeclineReason known) ? known : null;
        return await ActAsync(referrals, referralId, capability, ReferralEvent.Decline, parsed, ct);
    }

    public static async Task<Results<Ok<PartnerReferralView>, ProblemHttpResult>> Progress(
        string referralId, [FromHeader(Name = CapabilityHeader)] string? capability, HttpRequest request,
        ReferralService referrals, CancellationToken ct)
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
        return await ActAsync(referrals, referralId, capability, @event, null, ct);
    }

    private static async Task<Results<Ok<PartnerReferralView>, ProblemHttpResult>> ActAsync(
        ReferralService referrals, string referralId, string? capability, ReferralEvent @event, DeclineReason? reason, CancellationToken ct) =>
        await referrals.PartnerActAsync(referralId, capability, @event, reason, ct) switch
        {
            ActionOutcome.Done { Referral: var r } => TypedResults.Ok(PartnerReferralView.Of(r)),
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

    private static string Verb(ReferralEvent @event) => @event switch
    {
        ReferralEvent.Accept => "accepted",
        ReferralEvent.Decline => "declined",
        ReferralEvent.StartProgress => "marked in progress",
        ReferralEvent.Complete => "marked completed",
        _ => "marked could-not-contact",
    };
}
