using System.Text.RegularExpressions;
using System.Xml.Linq;
using ReferralBroker.Pages;

namespace ReferralBroker.Tests.Pages;

/// <summary>
/// The client pages' words in every language: a key missing from one file would show that client English (or
/// nothing) in the middle of her own language, so a missing or empty translation fails here.
/// </summary>
public sealed partial class ClientTextTests
{
    private static readonly string Folder = Path.Combine(Browser.Pages.RepositoryRoot, "functions", "ReferralBroker.Http", "Pages");

    public static TheoryData<string> Languages => [.. ClientLanguages.Cultures.Select(c => c.Name).Where(n => n != ClientLanguages.Default)];

    [Fact]
    public void Every_language_has_its_own_resource_file_and_no_file_is_for_an_unlisted_language()
    {
        var files = Directory.GetFiles(Folder, "ClientText*.resx").Select(Path.GetFileName).Order(StringComparer.Ordinal);
        var expected = ClientLanguages.Cultures.Select(c => c.Name == ClientLanguages.Default ? "ClientText.resx" : $"ClientText.{c.Name}.resx");
        Assert.Equal(expected.Order(StringComparer.Ordinal), files);
    }

    [Theory]
    [MemberData(nameof(Languages))]
    public void Every_key_is_translated_with_the_same_placeholders(string culture)
    {
        var english = Read("ClientText.resx");
        var translated = Read($"ClientText.{culture}.resx");

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
        ];
        var found = ClientLanguages.Cultures
            .Select(c => c.Name == ClientLanguages.Default ? "ClientText.resx" : $"ClientText.{c.Name}.resx")
            .SelectMany(file => Read(file).SelectMany(t => banned
                .Where(word => t.Value.Contains(word, StringComparison.OrdinalIgnoreCase))
                .Select(word => $"{file} {t.Key}: '{word}'")));
        Assert.Empty(found);
    }

    private static Dictionary<string, string> Read(string file) =>
        XDocument.Load(Path.Combine(Folder, file)).Root!.Elements("data")
            .ToDictionary(d => (string)d.Attribute("name")!, d => (string?)d.Element("value") ?? "");

    private static HashSet<string> Placeholders(string text) => [.. Placeholder().Matches(text).Select(m => m.Value)];

    [GeneratedRegex(@"\{\d+\}")]
    private static partial Regex Placeholder();
}
