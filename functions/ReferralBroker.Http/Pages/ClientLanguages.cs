using System.Globalization;

namespace ReferralBroker.Pages;

/// <summary>
/// The languages the client pages speak, and how a request picks one: <c>?lang=</c> (the visible picker keeps it in
/// the URL, never in a cookie), else the browser's Accept-Language, else English.
/// </summary>
internal static class ClientLanguages
{
    public const string QueryKey = "lang";
    public const string Default = "en";

    /// <summary>Each language under its own name, so a reader finds hers whatever language the page is in.</summary>
    public static readonly IReadOnlyList<(string Code, string Name)> All =
    [
        ("en", "English"),
        ("es", "Español"),
        ("fr", "Français"),
        ("pt", "Português"),
        ("th", "ไทย"),
        ("zh-Hans", "简体中文"),
        ("hi", "हिन्दी"),
        ("mr", "मराठी"),
        ("vi", "Tiếng Việt"),
        ("ko", "한국어"),
        ("ro", "Română"),
    ];

    /// <remarks>
    /// Without ICU the runtime spells zh-Hans "zh-HANS", and looks for its satellite assembly in a folder of that
    /// name: hence ClientText.zh-HANS.resx. Pages and URLs use the codes above.
    /// </remarks>
    public static IReadOnlyList<CultureInfo> Cultures { get; } = [.. All.Select(l => new CultureInfo(l.Code))];

    /// <summary>
    /// The supported language for a BCP 47 tag, by its primary language: pt-BR reads Portuguese, zh-CN and zh-TW
    /// read the only Chinese there is. The runtime runs without ICU, so its culture parents cannot do this.
    /// </summary>
    public static string? Match(string? tag)
    {
        if (string.IsNullOrWhiteSpace(tag))
        {
            return null;
        }

        var primary = tag.Trim().Split('-', '_')[0].ToLowerInvariant();
        return primary == "zh" ? "zh-Hans" : All.Select(l => l.Code).FirstOrDefault(code => code == primary);
    }

    /// <summary>The language of this request: ?lang= first, then Accept-Language by the browser's order of preference.</summary>
    public static string? Choose(HttpRequest request)
    {
        if (Match(request.Query[QueryKey]) is { } chosen)
        {
            return chosen;
        }

        var accepted = request.GetTypedHeaders().AcceptLanguage;
        return accepted
            .Where(value => value.Quality is not 0)
            .OrderByDescending(value => value.Quality ?? 1)
            .Select(value => Match(value.Value.Value))
            .FirstOrDefault(code => code is not null);
    }

    /// <summary>
    /// The request's language as the current culture of the handler that follows (the culture flows with its async
    /// calls). No cookie is read or set: the client pages carry none.
    /// </summary>
    public static void Apply(HttpRequest request)
    {
        var culture = new CultureInfo(Choose(request) ?? Default);
        CultureInfo.CurrentCulture = culture;
        CultureInfo.CurrentUICulture = culture;
    }
}
