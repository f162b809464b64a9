using Microsoft.AspNetCore.Http.HttpResults;
using ReferralBroker.Gate;
using ReferralBroker.Http;
using ReferralBroker.Lifecycle;

namespace ReferralBroker.Referrals;

/// <summary>The organisations' API: send a consented referral, follow its status.</summary>
internal static class ReferralEndpoints
{
    public static RouteGroupBuilder MapReferrals(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/referrals")
            .RequireAccess(Access.Organisation)
            .WithTags("Referrals");
        group.MapPost("/", Submit).WithName("SubmitReferral").RequireAccess(Access.Organisation, OrganisationLimit.Submissions)
            .Body<SubmissionRequest>()
            .Header("Idempotency-Key", "Optional, 1 to 200 characters: a retry with the same key and body answers the same referral (201), with its current status.")
            .Refuses(StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity);
        group.MapGet("/", List).WithName("ListReferrals")
            .Query("status", "Only referrals with this status (submitted, delivered, accepted, declined, in-progress, completed, could-not-contact, withdrawn, expired).")
            .Query("category", "Only referrals of this category.")
            .Query("from", "Sent on or after this date or instant (ISO 8601).")
            .Query("to", "Sent on or before this date or instant (ISO 8601).")
            .Query("limit", $"1 to {ReferralQuery.MaxLimit}; {ReferralQuery.DefaultLimit} by default.")
            .Query("continuation", "The previous page's continuation.")
            .Refuses(StatusCodes.Status400BadRequest);
        group.MapGet("/{referralId}", Get).WithName("GetReferral").Refuses(StatusCodes.Status404NotFound);
        group.MapPost("/{referralId}/resend", Resend).WithName("ResendReferral").RequireAccess(Access.Organisation, OrganisationLimit.Submissions)
            .Body<ResendRequest>()
            .Refuses(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity);
        return group;
    }

    public static async Task<Results<Created<SubmitResponse>, ProblemHttpResult>> Submit(
        HttpRequest request, ReferralService referrals, CancellationToken ct)
    {
        var idempotencyKey = request.Headers["Idempotency-Key"] is { Count: > 0 } keys ? keys.ToString() : null;
        if (idempotencyKey is { Length: 0 or > 200 })
        {
            return Problems.Malformed(new Dictionary<string, string[]> { ["Idempotency-Key"] = ["Between 1 and 200 characters."] });
        }

        if (await RequestBody.ReadAsync(request, ct) is not { } body)
        {
            return Problems.TooLarge(RequestBody.MaxBytes);
        }

        using var document = RequestBody.TryParse(body);
        if (document is null)
        {
            return Problems.Malformed(new Dictionary<string, string[]> { [""] = ["The body is not valid JSON."] });
        }

        if (SubmissionReader.Read(document.RootElement, out var malformed) is not { } submission)
        {
            return Problems.Malformed(malformed);
        }

        return await referrals.SubmitAsync(Callers.OrganisationOf(request), submission, idempotencyKey, body, ct) switch
        {
            SubmitOutcome.Created { Referral: var r } => TypedResults.Created(
                $"/api/referrals/{r.ReferralId}",
                new SubmitResponse(r.ReferralId, r.StatusToken, WireNames.Of(r.Status), r.ExpiresAt, r.DuressToken)),
            SubmitOutcome.Invalid { Errors: var errors } => Problems.Invalid(errors),
            _ => Problems.Conflict("This Idempotency-Key was already used with a different request body."),
        };
    }

    /// <summary>
    /// A referral marked deliveryFailed, sent again with the client's details typed anew: 200 with the referral as
    /// GET shows it. Its status token is not answered (the client has it on her card already, and it is unchanged).
    /// </summary>
    public static async Task<Results<Ok<OrganisationReferralView>, ProblemHttpResult>> Resend(
        HttpRequest request, ReferralService referrals, CancellationToken ct)
    {
        if (await RequestBody.ReadAsync(request, ct) is not { } body)
        {
            return Problems.TooLarge(RequestBody.MaxBytes);
        }

        using var document = RequestBody.TryParse(body);
        if (document is null)
        {
            return Problems.Malformed(new Dictionary<string, string[]> { [""] = ["The body is not valid JSON."] });
        }

        if (SubmissionReader.ReadResend(document.RootElement, out var malformed) is not { } submission)
        {
            return Problems.Malformed(malformed);
        }

        return await referrals.ResendAsync(Callers.OrganisationOf(request), request.Route("referralId"), submission, ct) switch
        {
            ResendOutcome.Sent { Referral: var r } => TypedResults.Ok(OrganisationReferralView.Of(r)),
            // The partner and category are the referral's own, not in the body: a 422 naming them would name a field
            // the caseworker never sent. What she can do is send a new referral elsewhere.
            ResendOutcome.Invalid { Errors: var errors } when errors.Keys.Any(k => k is "partnerId" or "category") =>
                Problems.Conflict("The partner this referral was for no longer takes it (paused, removed, or no longer offering the service): send a new referral to another partner."),
            ResendOutcome.Invalid { Errors: var errors } => Problems.Invalid(errors),
            ResendOutcome.NotAllowed => Problems.Conflict("Only a referral marked deliveryFailed can be sent again; this one is on its way or was delivered."),
            _ => Problems.NotFound(),
        };
    }

    public static async Task<Results<Ok<ReferralListView>, ProblemHttpResult>> List(
        HttpRequest request, ReferralService referrals, CancellationToken ct)
    {
        var parameters = new QueryParameters(request.Query, "status", "category", "from", "to", "limit", "continuation");
        var query = new ReferralQuery(
            Callers.OrganisationOf(request).Id,
            parameters.Parsed<ReferralStatus>("status", WireNames.TryParse, "One of the statuses in the README (accepted, in-progress, ...)."),
            parameters.Parsed<ServiceCategory>("category", WireNames.TryParse, $"One of {string.Join(", ", WireNames.AllCategories)}."),
            parameters.Instant("from", endOfRange: false),
            parameters.Instant("to", endOfRange: true),
            parameters.Integer("limit", 1, ReferralQuery.MaxLimit) ?? ReferralQuery.DefaultLimit);
        if (parameters.Text("continuation") is { } continuation)
        {
            query = query with { After = ReferralCursor.TryDecode(continuation) };
            if (query.After is null)
            {
                parameters.Errors["continuation"] = ["Not a continuation this API gave out."];
            }
        }

        if (parameters.Errors.Count > 0)
        {
            return Problems.Malformed(parameters.Errors);
        }

        var page = await referrals.ListForOrganisationAsync(query, ct);
        return TypedResults.Ok(new ReferralListView([.. page.Items.Select(OrganisationReferralView.Of)], page.Next?.Encode()));
    }

    public static async Task<Results<Ok<OrganisationReferralView>, ProblemHttpResult>> Get(
        HttpRequest request, ReferralService referrals, CancellationToken ct) =>
        await referrals.FindForOrganisationAsync(Callers.OrganisationOf(request).Id, request.Route("referralId"), ct) is { } record
            ? TypedResults.Ok(OrganisationReferralView.Of(record))
            : Problems.NotFound();
}
