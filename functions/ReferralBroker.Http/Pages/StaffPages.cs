using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Localization;

namespace ReferralBroker.Pages;

/// <summary>
/// The staff pages (coordinator, caseworker, partner, reports): HTML files in wwwroot written in placeholders, filled
/// on the server in the request's language (<see cref="ClientLanguages.Choose"/>: ?lang=, else Accept-Language).
/// <list type="bullet">
/// <item><c>{{Key}}</c>: the page's text of that key, HTML-encoded; <c>{{lang}}</c>: the language's code.</item>
/// <item><c>&lt;!--texts--&gt;</c>: every text of the page's resource, and the shared words (statuses, categories,
/// languages), as a JSON data block the page's script reads through /assets/page.js (not a script: the CSP lets
/// only /assets scripts run).</item>
/// <item><c>&lt;!--languages--&gt;</c>: the language picker, links to the same page in each language.</item>
/// </list>
/// Nothing of the request but its language is rendered: a page never carries a key, a secret or client data.
/// </summary>
internal static partial class StaffPages
{
    /// <summary>Words of the client pages every staff page needs too, so that one translation serves both.</summary>
    private static readonly string[] SharedPrefixes = ["Status_", "Category_", "Consent_", "Month_", "Language_", "DateFormat", "QuickExit"];

    public static ContentHttpResult Render<TText>(HttpContext context, string file)
    {
        var services = context.RequestServices;
        var text = services.GetRequiredService<IStringLocalizer<TText>>();
        var shared = services.GetRequiredService<IStringLocalizer<ClientText>>();
        var language = ClientLanguages.Match(CultureInfo.CurrentUICulture.Name) ?? ClientLanguages.Default;
        var html = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "wwwroot", file));
        html = Placeholder().Replace(html, match => match.Groups["key"].Value == "lang" ? language : Html.Encode(text[match.Groups["key"].Value]));
        html = html.Replace("<!--texts-->", TextsBlock(text, shared, language), StringComparison.Ordinal);
        html = html.Replace("<!--languages-->", Picker(context.Request.Path, shared["LanguagePicker"], language).Value, StringComparison.Ordinal);
        return TypedResults.Content(html, "text/html; charset=utf-8");
    }

    /// <summary>Every language under its own name, in the page's language's order of the list.</summary>
    private static Html Picker(string path, string label, string current)
    {
        var choices = Html.Join(ClientLanguages.All.Select(l => Html.Format(
            $"""<li><a href="{path}?{ClientLanguages.QueryKey}={l.Code}" lang="{l.Code}" hreflang="{l.Code}"{(l.Code == current ? new Html(" aria-current=\"true\"") : Html.Empty)}>{l.Name}</a></li>""")));
        return Html.Format($"""<nav class="languages-nav" aria-label="{label}"><ul class="languages">{choices}</ul></nav>""");
    }

    private static string TextsBlock(IStringLocalizer own, IStringLocalizer shared, string language)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("lang", language);
            foreach (var entry in shared.GetAllStrings(includeParentCultures: true).Where(s => SharedPrefixes.Any(p => s.Name.StartsWith(p, StringComparison.Ordinal))))
            {
                json.WriteString(entry.Name, entry.Value);
            }

            foreach (var entry in own.GetAllStrings(includeParentCultures: true))
            {
                json.WriteString(entry.Name, entry.Value);
            }

            json.WriteStartObject("languages");
            foreach (var (code, name) in ClientLanguages.All)
            {
                json.WriteString(code, name);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        // The writer's default encoder escapes '<', '>' and '&', so the data cannot close its own element.
        return $"""<script type="application/json" id="texts">{Encoding.UTF8.GetString(buffer.ToArray())}</script>""";
    }

    [GeneratedRegex(@"\{\{(?<key>[A-Za-z0-9_-]+)\}\}")]
    private static partial Regex Placeholder();
}
