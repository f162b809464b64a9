using System.Text.RegularExpressions;
using System.Xml.Linq;
using ReferralBroker.Pages;

namespace ReferralBroker.Tests.Pages;

/// <summary>
/// Every page's words in every language: ClientText (the client's pages, and the words all pages share) and one
/// resource per staff page (wwwroot/admin.html ↔ AdminText.resx, refer.html ↔ ReferText.resx, …). A key missing from
/// one file would show a reader English (or a key) in the middle of her own language, so a missing or empty
/// translation fails here, and so does a placeholder or script call naming a key no resource has.
/// </summary>
public sealed partial class PageTextTests
{
    private static readonly string Folder = Path.Combine(Browser.Pages.RepositoryRoot, "functions", "ReferralBroker.Http", "Pages");
    private static readonly string WebRoot = Path.Combine(Browser.Pages.RepositoryRoot, "functions", "ReferralBroker.Http", "wwwroot");

    /// <summary>Words of the client pages that the staff pages' scripts read too (see StaffPages.SharedPrefixes).</summary>
    private static readonly string[] Shared = ["Status_", "Category_", "Consent_", "Month_", "Language_", "DateFormat", "QuickExit"];

    /// <summary>Every resource: ClientText.resx and each staff page's, by their English (culture-less) file.</summary>
    private static IEnumerable<string> ResourceNames =>
        Directory.GetFiles(Folder, "*.resx").Select(f => Path.GetFileNameWithoutExtension(f)).Where(n => !n.Contains('.', StringComparison.Ordinal)).Order(StringComparer.Ordinal);

    public static TheoryData<string> Resources => [.. ResourceNames];

    public static TheoryData<string, string> ResourcesAndLanguages
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var resource in ResourceNames)
            {
                foreach (var culture in ClientLanguages.Cultures.Select(c => c.Name).Where(n => n != ClientLanguages.Default))
                {
                    data.Add(resource, culture);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Resources))]
    public void Every_language_has_its_own_resource_file_and_no_file_is_for_an_unlisted_language(string resource)
    {
        var files = Directory.GetFiles(Folder, $"{resource}.*resx").Select(Path.GetFileName).Order(StringComparer.Ordinal);
        var expected = ClientLanguages.Cultures.Select(c => c.Name == ClientLanguages.Default ? $"{resource}.resx" : $"{resource}.{c.Name}.resx");
        Assert.Equal(expected.Order(StringComparer.Ordinal), files);
    }

    [Theory]
    [MemberData(nameof(ResourcesAndLanguages))]
    public void Every_key_is_translated_with_the_same_placeholders(string resource, string culture)
    {
        var english = Read($"{resource}.resx");
        var translated = Read($"{resource}.{culture}.resx");

        Assert.Empty(english.Keys.Except(translated.Keys).Select(key => $"{culture} lacks {key}"));
        Assert.Empty(translated.Keys.Except(english.Keys).Select(key => $"{culture} has {key}, which English does not"));
        Assert.Empty(translated.Where(t => string.IsNullOrWhiteSpace(t.Value)).Select(t => $"{culture} {t.Key} is empty"));
        // A date format may leave out an argument (Chinese writes the month as a number); anything else must keep them all.
        Assert.Empty(english.Where(e => e.Key != "DateFormat" && !Placeholders(e.Value).SetEquals(Placeholders(translated[e.Key])))
            .Select(e => $"{culture} {e.Key} has placeholders {string.Join(",", Placeholders(translated[e.Key]))}, English {string.Join(",", Placeholders(e.Value))}"));
    }

    /// <summary>Words that judge or endanger: the network's clients are neither victims to rescue nor "prostitutes".</summary>
    [Fact]
    public void No_language_uses_the_words_victim_rescue_or_prostitute()
    {
        string[] banned =
        [
            "victim", "rescue", "prostitut", "víctima", "rescate", "rescatar", "victime", "sauvetage", "secourir",
            "vítima", "resgate", "resgatar", "เหยื่อ", "กู้ภัย", "โสเภณี", "受害者", "解救", "营救", "妓女", "卖淫",
            // Hindi and Marathi, Vietnamese, Korean, Romanian
            "पीड़ित", "पीडित", "बचाव", "वेश्या", "nạn nhân", "giải cứu", "gái mại dâm", "mại dâm", "피해자", "구출", "매춘",
            "성매매 여성", "victimă", "prostituat",
        ];
        var found = Directory.GetFiles(Folder, "*.resx")
            .SelectMany(file => Read(Path.GetFileName(file)).SelectMany(t => banned
                .Where(word => t.Value.Contains(word, StringComparison.OrdinalIgnoreCase))
                .Select(word => $"{Path.GetFileName(file)} {t.Key}: '{word}'")));
        Assert.Empty(found);
    }

    /// <summary>A page's {{Key}} and its script's t('Key') must name a text its resource (or the shared words) has.</summary>
    [Fact]
    public void Every_text_a_staff_page_or_its_script_asks_for_exists_in_English()
    {
        var shared = Read("ClientText.resx").Keys.Where(k => Shared.Any(p => k.StartsWith(p, StringComparison.Ordinal))).ToHashSet();
        var missing = new List<string>();
        foreach (var html in Directory.GetFiles(WebRoot, "*.html"))
        {
            var name = Path.GetFileNameWithoutExtension(html);
            var keys = PagePlaceholder().Matches(File.ReadAllText(html)).Select(m => m.Groups["key"].Value).Where(k => k != "lang").ToList();
            var script = Path.Combine(WebRoot, "assets", $"{name}.js");
            if (File.Exists(script))
            {
                keys.AddRange(ScriptText().Matches(File.ReadAllText(script)).Select(m => m.Groups["key"].Value));
            }

            if (keys.Count == 0)
            {
                continue;
            }

            var resource = $"{char.ToUpperInvariant(name[0])}{name[1..]}Text.resx";
            var own = File.Exists(Path.Combine(Folder, resource)) ? Read(resource).Keys.ToHashSet() : [];
            missing.AddRange(keys.Distinct().Where(k => !own.Contains(k) && !shared.Contains(k)).Select(k => $"{name}: {k} (not in {resource})"));
        }

        Assert.Empty(missing);
    }

    private static Dictionary<string, string> Read(string file) =>
        XDocument.Load(Path.Combine(Folder, file)).Root!.Elements("data")
            .ToDictionary(d => (string)d.Attribute("name")!, d => (string?)d.Element("value") ?? "");

    private static HashSet<string> Placeholders(string text) => [.. Placeholder().Matches(text).Select(m => m.Value)];

    [GeneratedRegex(@"\{\d+\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"\{\{(?<key>[A-Za-z0-9_-]+)\}\}")]
    private static partial Regex PagePlaceholder();

    [GeneratedRegex(@"\bt\('(?<key>[A-Za-z0-9_-]+)'")]
    private static partial Regex ScriptText();
}
