using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using ReferralBroker.Gate;
using ReferralBroker.Lifecycle;
using ReferralBroker.Pages;
using ReferralBroker.Referrals;

namespace ReferralBroker.Status;

/// <summary>
/// The client's status page, rendered on the server so that it works with JavaScript off on a cheap phone. The code
/// goes from form to form in POST bodies only: it is never in a URL (history, logs, Referer) and never in a cookie.
/// The page sets no cookie at all, so it has no antiforgery token either, and needs none: a forged POST can only
/// act on a code the attacker already has, and whoever has the code can do the same thing directly.
/// </summary>
internal static class StatusPageEndpoints
{
    public const string Path = "/status";
    private const string TokenField = "token";

    /// <summary>A code is 19 characters written out; anything much longer is not a code and is not echoed back.</summary>
    private static readonly FormOptions FormLimits = new()
    {
        BufferBody = false,
        ValueCountLimit = 4,
        KeyLengthLimit = 16,
        ValueLengthLimit = 256,
        MultipartBodyLengthLimit = 2048,
    };

    public static IEndpointRouteBuilder MapStatusPages(this IEndpointRouteBuilder routes)
    {
        routes.MapGet(Path, Form).RequireAccess(Access.Anyone).ExcludeFromDescription();
        // The same limiter policy and guessing budget as POST /api/status: the page is no way around them.
        var posts = routes.MapGroup(Path)
            .RequireAccess(Access.ClientStatusPage)
            .ExcludeFromDescription();
        posts.MapPost("/", Check);
        posts.MapPost("/withdraw", ConfirmWithdraw);
        posts.MapPost("/withdraw/confirm", Withdraw);
        return routes;
    }

    /// <summary>The page's refusal when the limits are spent: the form again, in her language, instead of problem+json.</summary>
    public static ContentHttpResult TooManyRequests(HttpContext context) =>
        RenderForm(context, ClientPage.For(context)["ErrorTooMany"], null, StatusCodes.Status429TooManyRequests);

    public static ContentHttpResult Form(HttpContext context) => RenderForm(context, null, null, StatusCodes.Status200OK);

    public static async Task<ContentHttpResult> Check(HttpContext context, ReferralService referrals, CancellationToken ct)
    {
        var token = await ReadTokenAsync(context.Request, ct);
        if (token is null)
        {
            return MissingCode(context);
        }

        return await referrals.FindForClientAsync(token, ct) is { } record
            ? Result(context, record, token, null)
            : NotFound(context, token);
    }

    /// <summary>The confirmation step: says what withdrawing does, and changes nothing.</summary>
    public static async Task<ContentHttpResult> ConfirmWithdraw(HttpContext context, ReferralService referrals, CancellationToken ct)
    {
        var token = await ReadTokenAsync(context.Request, ct);
        if (token is null)
        {
            return MissingCode(context);
        }

        if (await referrals.FindForClientAsync(token, ct) is not { } record)
        {
            return NotFound(context, token);
        }

        var page = ClientPage.For(context);
        if (!CanWithdraw(record))
        {
            return Result(context, record, token, page["ErrorAlreadyEnded"]);
        }

        return page.Render(page["ConfirmTitle"], Html.Format($"""
            <h1>{page["ConfirmTitle"]}</h1>
            <ul>
            <li>{page["ConfirmWhat1"]}</li>
            <li>{page["ConfirmWhat2"]}</li>
            <li>{page["ConfirmWhat3"]}</li>
            </ul>
            <form method="post" action="{Path}/withdraw/confirm{page.LanguageQuery}">{ClientPage.TokenField(token)}<button type="submit" class="danger">{page["ConfirmButton"]}</button></form>
            <form method="post" action="{Path}{page.LanguageQuery}">{ClientPage.TokenField(token)}<button type="submit">{page["KeepButton"]}</button></form>
            """), new LanguageSwitch($"{Path}/withdraw", token));
    }

    public static async Task<ContentHttpResult> Withdraw(HttpContext context, ReferralService referrals, CancellationToken ct)
    {
        var token = await ReadTokenAsync(context.Request, ct);
        if (token is null)
        {
            return MissingCode(context);
        }

        var page = ClientPage.For(context);
        return await referrals.WithdrawAsync(token, ct) switch
        {
            ActionOutcome.Done { Referral: var withdrawn } => Result(context, withdrawn, token, page["WithdrawnDone"]),
            ActionOutcome.NotAllowed when await referrals.FindForClientAsync(token, ct) is { } ended =>
                Result(context, ended, token, page["ErrorAlreadyEnded"]),
            _ => NotFound(context, token),
        };
    }

    /// <summary>
    /// On a 360 px phone the first screen holds what she came for: the status, and the way to stop the referral.
    /// The rest (service, names, dates) follows, and what the broker holds is folded below, one tap away.
    /// </summary>
    private static ContentHttpResult Result(HttpContext context, ReferralRecord record, string token, string? notice)
    {
        var page = ClientPage.For(context);
        var status = WireNames.Of(record.Status);
        var names = Names.Of(context, record, page);
        var held = Html.Join(StatusEndpoints.HeldFacts(record).Select(fact => Html.Format(
            $"<li>{Held(page, record, names, fact.Kind)} <strong>{page["DeletedBy", page.Date(fact.DeletedBy)]}</strong></li>")));
        var withdraw = CanWithdraw(record)
            ? Html.Format($"""
                <section class="withdraw" aria-labelledby="withdraw-title">
                <h2 id="withdraw-title">{page["WithdrawTitle"]}</h2>
                <form method="post" action="{Path}/withdraw{page.LanguageQuery}">{ClientPage.TokenField(token)}<button type="submit">{page["WithdrawButton"]}</button></form>
                <p class="hint">{page["WithdrawIntro"]}</p>
                </section>
                """)
            : Html.Empty;
        var message = notice is null ? Html.Empty : Html.Format($"""<p class="notice" role="status">{notice}</p>""");
        // The partner's decline reason is for the organisation: the client reads the same neutral words for all of them.
        return page.Render(page["ResultTitle"], Html.Format($"""
            <h1>{page["ResultTitle"]}</h1>
            {message}
            <dl class="status-now">
            <dt>{page["StatusLabel"]}</dt><dd id="status">{page[$"Status_{status}"]}</dd>
            </dl>
            {withdraw}
            <h2>{page["NextLabel"]}</h2>
            <p id="next">{page[$"Next_{status}"]}</p>
            <dl>
            <dt>{page["ServiceLabel"]}</dt><dd>{page.Category(record.Category)}</dd>
            <dt>{page["PartnerLabel"]}</dt><dd id="partner">{names.Partner}</dd>
            <dt>{page["OrganisationLabel"]}</dt><dd id="organisation">{names.Organisation}</dd>
            <dt>{page["LastChangeLabel"]}</dt><dd>{page.Date(record.UpdatedAt)}</dd>
            <dt>{page["ConsentEndsLabel"]}</dt><dd>{page.Date(record.ExpiresAt)}</dd>
            </dl>
            <details id="held-facts">
            <summary>{page["HeldTitle"]}</summary>
            <ul id="held">{held}</ul>
            <p>{page["HeldNothingElse"]}</p>
            </details>
            <p><a href="{Path}{page.LanguageQuery}">{page["CheckAnother"]}</a></p>
            """), new LanguageSwitch(Path, token));
    }

    /// <summary>
    /// The service and the organisation by name, from the directory. The organisation's "do not name us" setting is
    /// about partners (who may not need to know who referred); the client is named her own organisation anyway: she
    /// met it, the referral was made with her, and a name she recognises is how she knows the referral is hers. Whoever
    /// holds her code already sees everything else on this page, which the card tells her to keep private.
    /// A partner or organisation gone from the directory reads as such, never as an id.
    /// </summary>
    private sealed record Names(string Partner, string Organisation)
    {
        public static Names Of(HttpContext context, ReferralRecord record, ClientPage page)
        {
            var directory = context.RequestServices.GetRequiredService<INetworkDirectory>();
            return new(
                directory.FindPartner(record.PartnerId)?.Name ?? page["PartnerNotListed"],
                directory.FindOrganisation(record.OrganisationId)?.Name ?? page["OrganisationNotListed"]);
        }
    }

    private static string Held(ClientPage page, ReferralRecord record, Names names, HeldKind kind) => kind switch
    {
        HeldKind.Record => page["HeldRecord", page.Category(record.Category), names.Partner, names.Organisation],
        HeldKind.Consent => page["HeldConsent", page[$"Consent_{WireNames.Of(record.ConsentObtainedBy)}"], page.Date(record.ExpiresAt)],
        HeldKind.TokenFingerprint => page["HeldFingerprint"],
        _ => page["HeldSealed"],
    };

    private static bool CanWithdraw(ReferralRecord record) => ReferralLifecycle.TryApply(record.Status, ReferralEvent.Withdraw, out _);

    private static ContentHttpResult MissingCode(HttpContext context) =>
        RenderForm(context, ClientPage.For(context)["ErrorCodeMissing"], null, StatusCodes.Status400BadRequest);

    /// <summary>Unknown, purged and mistyped codes all read the same, as in the API.</summary>
    private static ContentHttpResult NotFound(HttpContext context, string typed) =>
        RenderForm(context, ClientPage.For(context)["ErrorNotFound"], typed, StatusCodes.Status404NotFound);

    private static ContentHttpResult RenderForm(HttpContext context, string? error, string? typed, int statusCode)
    {
        var page = ClientPage.For(context);
        var errorMessage = error is null ? Html.Empty : Html.Format($"""<p class="error" id="code-error" role="alert">{error}</p>""");
        var invalid = error is null ? Html.Empty : new Html(""" aria-invalid="true" """);
        var describedBy = error is null ? "code-hint" : "code-hint code-error";
        return page.Render(page["StatusTitle"], Html.Format($"""
            <h1>{page["StatusTitle"]}</h1>
            <p>{page["StatusIntro"]}</p>
            <form method="post" action="{Path}{page.LanguageQuery}" autocomplete="off">
            <label for="token">{page["CodeLabel"]}</label>
            <p class="hint" id="code-hint">{page["CodeHint"]}</p>
            {errorMessage}
            <input id="token" name="{TokenField}" type="text" value="{typed ?? ""}" maxlength="64" autocomplete="off" autocapitalize="characters" spellcheck="false" required aria-describedby="{describedBy}"{invalid}>
            <button type="submit">{page["CheckButton"]}</button>
            </form>
            """), new LanguageSwitch(Path), statusCode);
    }

    private static async Task<string?> ReadTokenAsync(HttpRequest request, CancellationToken ct)
    {
        if (!request.HasFormContentType)
        {
            return null;
        }

        try
        {
            var form = await request.ReadFormAsync(FormLimits, ct);
            return form[TokenField].ToString() is { Length: > 0 and <= 64 } token ? token : null;
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }
}
