using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;
using ReferralBroker.Hosting;
using ReferralBroker.Http;
using ReferralBroker.Lifecycle;

namespace ReferralBroker.Pages;

/// <summary>
/// One client page being written, in the request's language: the shared frame (quick exit, language picker, one
/// stylesheet, one optional script) around a body. Pages carry no cookie, no third-party asset and no inline
/// script or style, so the strict Content-Security-Policy holds.
/// </summary>
internal sealed class ClientPage
{
    private readonly IStringLocalizer<ClientText> _text;
    private readonly string _quickExitUrl;

    private ClientPage(IStringLocalizer<ClientText> text, string quickExitUrl, string language)
    {
        _text = text;
        _quickExitUrl = quickExitUrl;
        Language = language;
    }

    /// <summary>The language this request chose (see <see cref="ClientLanguages.Choose"/>).</summary>
    public string Language { get; }

    /// <summary>"?lang=th": every link and form of a page keeps the chosen language in its URL.</summary>
    public string LanguageQuery => $"?{ClientLanguages.QueryKey}={Language}";

    public static ClientPage For(HttpContext context) => new(
        context.RequestServices.GetRequiredService<IStringLocalizer<ClientText>>(),
        context.RequestServices.GetRequiredService<IOptions<BrokerOptions>>().Value.QuickExitUrl,
        ClientLanguages.Match(CultureInfo.CurrentUICulture.Name) ?? ClientLanguages.Default);

    public string this[string key] => _text[key];

    public string this[string key, params object[] arguments] => _text[key, arguments];

    /// <summary>
    /// "Legal help" for the built-in categories; a category the coordinator added later has no translation yet, and
    /// its own word reads better than a resource key.
    /// </summary>
    public string Category(ServiceCategory category) =>
        _text[$"Category_{category.Name}"] is { ResourceNotFound: false } name ? name : category.Name;

    /// <summary>"23 December 2026", "23 de diciembre de 2026", "2026年12月23日": the runtime has no culture data, the resources do.</summary>
    public string Date(DateTimeOffset at)
    {
        var utc = at.ToUniversalTime();
        return string.Format(CultureInfo.InvariantCulture, _text["DateFormat"], utc.Day, _text[$"Month_{utc.Month}"], utc.Year, utc.Month);
    }

    public ContentHttpResult Render(string title, Html body, LanguageSwitch languages, int statusCode = StatusCodes.Status200OK)
    {
        var html = Html.Format($"""
            <!doctype html>
            <html lang="{Language}">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="referrer" content="no-referrer">
            <meta name="robots" content="noindex">
            <title>{title}</title>
            <link rel="stylesheet" href="/assets/site.css">
            <script src="/assets/quick-exit.js" defer></script>
            </head>
            <body>
            <header class="exit">
            <a id="quick-exit" class="quick-exit" href="{_quickExitUrl}" rel="noreferrer">{this["QuickExit"]}</a>
            <p class="hint">{this["QuickExitNote"]}</p>
            {Picker(languages)}
            </header>
            <main>
            {body}
            </main>
            </body>
            </html>
            """);
        return TypedResults.Content(html.Value, "text/html; charset=utf-8", statusCode: statusCode);
    }

    /// <summary>
    /// Links on pages reached by GET. A page showing a referral was reached by POST and its code must not go into a
    /// URL, so there the picker posts the code again, in a form, to the same page in the other language.
    /// </summary>
    private Html Picker(LanguageSwitch languages)
    {
        var choices = Html.Join(ClientLanguages.All.Select(l => languages.Token is null
            ? Html.Format($"""<li><a href="{languages.Path}?{ClientLanguages.QueryKey}={l.Code}" lang="{l.Code}" hreflang="{l.Code}"{Current(l.Code)}>{l.Name}</a></li>""")
            : Html.Format($"""<li><button type="submit" formaction="{languages.Path}?{ClientLanguages.QueryKey}={l.Code}" lang="{l.Code}"{Current(l.Code)}>{l.Name}</button></li>""")));
        var list = Html.Format($"""<ul class="languages">{choices}</ul>""");
        return languages.Token is null
            ? Html.Format($"""<nav aria-label="{this["LanguagePicker"]}">{list}</nav>""")
            : Html.Format($"""<nav aria-label="{this["LanguagePicker"]}"><form method="post">{TokenField(languages.Token)}{list}</form></nav>""");
    }

    private Html Current(string code) => code == Language ? new Html(" aria-current=\"true\"") : Html.Empty;

    /// <summary>The code carried to the next step in the POST body: never in a URL, never in a cookie.</summary>
    public static Html TokenField(string token) => Html.Format($"""<input type="hidden" name="token" value="{token}">""");
}

/// <summary>Where the language picker leads: <paramref name="Path"/> by a link, or by re-posting <paramref name="Token"/>.</summary>
internal sealed record LanguageSwitch(string Path, string? Token = null);
