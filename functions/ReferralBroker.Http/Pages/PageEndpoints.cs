using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.StaticFiles;
using ReferralBroker.Gate;
using ReferralBroker.Hosting;
using ReferralBroker.Http;
using ReferralBroker.Status;

namespace ReferralBroker.Pages;

/// <summary>
/// The human pages. The client's pages (home, status) are rendered on the server in her language and work without
/// JavaScript; the partner's and the caseworker's pages are plain HTML with a script from wwwroot, and nothing
/// secret is ever rendered into them by the server.
/// </summary>
internal static class PageEndpoints
{
    /// <summary>Where refer.html takes the client-language texts (consent script, card), as a JSON data block.</summary>
    private const string ClientTextsMarker = "<!--client-texts-->";

    /// <summary>The words the caseworker's page shows or reads out in the client's language.</summary>
    private static readonly string[] ReferTexts =
    [
        "ConsentScriptIntro", "ConsentScriptFields", "ConsentScriptPrivacy", "ConsentScriptCard", "ConsentScriptQuestion",
        "Field_firstName", "Field_contact", "Field_contactVia", "Field_language", "Field_needs",
        "CardTitle", "CardCheckAt", "CardKeepPrivate", "CardNoName",
    ];

    /// <summary>The words of the consent script the client resources lack, from the page's own resource.</summary>
    private static readonly string[] ReferClientTexts = ["ClientScriptPartner"];

    public static IEndpointRouteBuilder MapPages(this IEndpointRouteBuilder routes)
    {
        var pages = routes.MapGroup("").RequireAccess(Access.Anyone).ExcludeFromDescription();
        pages.MapGet("/", Home);
        pages.MapGet("/reports", Reports);
        pages.MapGet("/partner/{referralId}", Partner);
        pages.MapGet("/refer", Refer);
        pages.MapGet("/admin", Admin);
        pages.MapGet("/referrals", Referrals).WithName("ReferralsPage");
        pages.MapGet("/assets/{file}", Asset);
        routes.MapStatusPages();
        return routes;
    }

    /// <summary>The impact report, in the request's language; the figures come from /api/reports/summary with the tab's key.</summary>
    public static ContentHttpResult Reports(HttpContext context) => StaffPages.Render<ReportsText>(context, "reports.html");

    /// <summary>The coordinator's console: the page holds no key and no data, its script asks for the key.</summary>
    public static ContentHttpResult Admin(HttpContext context) => StaffPages.Render<AdminText>(context, "admin.html");

    /// <summary>
    /// The link secret is in the fragment, which browsers never send: the server only ever sees the id, and renders
    /// nothing of it (the page is the same for every referral, in the partner's language).
    /// </summary>
    public static ContentHttpResult Partner(HttpContext context) => StaffPages.Render<PartnerText>(context, "partner.html");

    /// <summary>The pages' scripts and stylesheets: a flat folder, so a name with a path in it is nobody's file.</summary>
    public static Results<PhysicalFileHttpResult, ProblemHttpResult> Asset(HttpRequest request)
    {
        var name = request.Route("file");
        var path = Path.Combine(AppContext.BaseDirectory, "wwwroot", "assets", name);
        return Path.GetFileName(name) == name && !name.StartsWith('.') && File.Exists(path) && ContentTypes.TryGetContentType(name, out var type)
            ? TypedResults.PhysicalFile(path, type)
            : Problems.NotFound();
    }

    public static ContentHttpResult Home(HttpContext context)
    {
        var page = ClientPage.For(context);
        return page.Render(page["HomeTitle"], Html.Format($"""
            <h1>{page["HomeTitle"]}</h1>
            <p>{page["HomeIntro"]}</p>
            <p>{page["HomeNoAccount"]}</p>
            <p><a class="button" href="{StatusPageEndpoints.Path}{page.LanguageQuery}">{page["HomeCheckLink"]}</a></p>
            """), new LanguageSwitch("/"));
    }

    /// <summary>
    /// The caseworker's intake page, on <see cref="StaffPages"/> in her language, with the consent script and the
    /// card's words in every client language as a second JSON data block (not a script: the CSP lets only /assets
    /// scripts run), taken from the same resources as the client's own pages, and the script's line naming the
    /// partner from ReferText in each language.
    /// </summary>
    public static ContentHttpResult Refer(
        HttpContext context, IStringLocalizer<ClientText> text, IStringLocalizer<ReferText> referText, IOptions<BrokerOptions> options)
    {
        var page = StaffPages.Render<ReferText>(context, "refer.html");
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("statusPage", options.Value.PublicBaseUrl.TrimEnd('/') + StatusPageEndpoints.Path);
            json.WriteStartObject("languages");
            var culture = CultureInfo.CurrentUICulture;
            try
            {
                foreach (var (code, name) in ClientLanguages.All)
                {
                    CultureInfo.CurrentUICulture = new CultureInfo(code);
                    json.WriteStartObject(code);
                    json.WriteString("name", name);
                    foreach (var key in ReferTexts)
                    {
                        json.WriteString(key, text[key]);
                    }

                    foreach (var key in ReferClientTexts)
                    {
                        json.WriteString(key, referText[key]);
                    }

                    json.WriteEndObject();
                }
            }
            finally
            {
                CultureInfo.CurrentUICulture = culture;
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        // The writer's default encoder escapes '<', '>' and '&', so the data cannot close its own element.
        var block = $"""<script type="application/json" id="client-texts">{Encoding.UTF8.GetString(buffer.ToArray())}</script>""";
        return TypedResults.Content(page.ResponseContent!.Replace(ClientTextsMarker, block, StringComparison.Ordinal), page.ContentType);
    }

    /// <summary>The caseworker's referrals: status, partner and dates, never anything about the client (the broker has none).</summary>
    public static ContentHttpResult Referrals(HttpContext context) => StaffPages.Render<ReferralsText>(context, "referrals.html");

    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    private static PhysicalFileHttpResult Page(string name) => TypedResults.PhysicalFile(WebRootFile(name), "text/html; charset=utf-8");

    private static string WebRootFile(string name) => Path.Combine(AppContext.BaseDirectory, "wwwroot", name);
}
