using Microsoft.AspNetCore.Http.HttpResults;
using ReferralBroker.Gate;
using ReferralBroker.Http;
using ReferralBroker.Lifecycle;
using ReferralBroker.Referrals;

namespace ReferralBroker.Status;

/// <summary>
/// The client's side: with only the token from her card she can see where her referral is, what the broker
/// holds about it and until when, and withdraw. The token travels in a POST body, never in a URL, so it stays
/// out of access logs and browser history. Every failure looks the same.
/// </summary>
internal static class StatusEndpoints
{
    public static RouteGroupBuilder MapStatus(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/status")
            .RequireAccess(Access.ClientStatus)
            .WithTags("Status");
        group.MapPost("/", Check).WithName("CheckStatus").Body<StatusTokenRequest>().Refuses(StatusCodes.Status404NotFound);
        group.MapPost("/withdraw", Withdraw).WithName("Withdraw").Body<StatusTokenRequest>()
            .Refuses(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        return group;
    }

    public static async Task<Results<Ok<ClientStatusView>, ProblemHttpResult>> Check(
        HttpRequest request, ReferralService referrals, CancellationToken ct)
    {
        var (token, problem) = await RequestBody.ReadSingleStringAsync(request, "token", ct);
        if (problem is not null)
        {
            return problem;
        }

        return await referrals.FindForClientAsync(token, ct) is { } record ? TypedResults.Ok(View(record)) : Problems.NotFound();
    }

    public static async Task<Results<Ok<ClientStatusView>, ProblemHttpResult>> Withdraw(
        HttpRequest request, ReferralService referrals, CancellationToken ct)
    {
        var (token, problem) = await RequestBody.ReadSingleStringAsync(request, "token", ct);
        if (problem is not null)
        {
            return problem;
        }

        return await referrals.WithdrawAsync(token, ct) switch
        {
            ActionOutcome.Done { Referral: var r } => TypedResults.Ok(View(r)),
            ActionOutcome.NotAllowed { Current: var current } =>
                Problems.Conflict($"This referral is {WireNames.Of(current)} and has already ended; there is nothing left to withdraw."),
            _ => Problems.NotFound(),
        };
    }

    internal static ClientStatusView View(ReferralRecord r) =>
        new(WireNames.Of(r.Status), WireNames.Of(r.Category), r.UpdatedAt, r.ExpiresAt, Held(r));

    /// <summary>Everything stored about this referral, in plain words, with the date it will be gone by.</summary>
    internal static IReadOnlyList<HeldItem> Held(ReferralRecord r) =>
    [
        .. HeldFacts(r).Select(fact => new HeldItem(fact.Kind switch
        {
            HeldKind.Record => $"That a {WireNames.Of(r.Category)} referral was sent to partner {r.PartnerId} by organisation {r.OrganisationId}, its status ({WireNames.Of(r.Status)}) and the dates it changed.",
            HeldKind.Consent => $"How your consent was given ({WireNames.Of(r.ConsentObtainedBy)}) and when it ends ({r.ExpiresAt:yyyy-MM-dd}).",
            HeldKind.TokenFingerprint => "A scrambled fingerprint of your status code, so that the code can be checked. The code itself is not stored.",
            _ => "Your referral details, locked so that only the partner's link can open them. The broker cannot read them.",
        }, fact.DeletedBy)),
    ];

    /// <summary>
    /// What the broker holds about a referral and until when: the one list behind the API's <c>held</c> and the
    /// status page's panel, which only word it differently.
    /// </summary>
    internal static IReadOnlyList<HeldFact> HeldFacts(ReferralRecord r)
    {
        List<HeldFact> held = [new(HeldKind.Record, r.PurgeAt), new(HeldKind.Consent, r.PurgeAt), new(HeldKind.TokenFingerprint, r.PurgeAt)];
        if (Transitions.SealedGoneBy(r) is { } sealedGoneBy)
        {
            held.Add(new(HeldKind.SealedDetails, sealedGoneBy));
        }

        return held;
    }
}

internal enum HeldKind
{
    Record,
    Consent,
    TokenFingerprint,
    SealedDetails,
}

internal sealed record HeldFact(HeldKind Kind, DateTimeOffset DeletedBy);
