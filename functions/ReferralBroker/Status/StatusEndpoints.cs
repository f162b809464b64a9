using Microsoft.AspNetCore.Http.HttpResults;
using ReferralBroker.Hosting;
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
            .RequireRateLimiting(BrokerPolicies.StatusRateLimit)
            .AddEndpointFilter<GuessingGuard>()
            .WithTags("Status");
        group.MapPost("/", Check).WithName("CheckStatus");
        group.MapPost("/withdraw", Withdraw).WithName("Withdraw");
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
    internal static IReadOnlyList<HeldItem> Held(ReferralRecord r)
    {
        var held = new List<HeldItem>
        {
            new($"That a {WireNames.Of(r.Category)} referral was sent to partner {r.PartnerId} by organisation {r.OrganisationId}, its status ({WireNames.Of(r.Status)}) and the dates it changed.", r.PurgeAt),
            new($"How your consent was given ({WireNames.Of(r.ConsentObtainedBy)}) and when it ends ({r.ExpiresAt:yyyy-MM-dd}).", r.PurgeAt),
            new("A scrambled fingerprint of your status code, so that the code can be checked. The code itself is not stored.", r.PurgeAt),
        };
        if (Transitions.SealedGoneBy(r) is { } sealedGoneBy)
        {
            held.Add(new("Your referral details, locked so that only the partner's link can open them. The broker cannot read them.", sealedGoneBy));
        }

        return held;
    }
}
