using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.Playwright;
using ReferralBroker.Tests.Integration;
using static Microsoft.Playwright.Assertions;

namespace ReferralBroker.Tests.Browser;

/// <summary>
/// The /reports page under its real CSP: the staff key asked once per tab (page.key, shared with the other staff
/// pages), the figures, the chart and the CSV, the staff navigation, and the page in another language.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed partial class ReportsPageTests(Chromium chromium) : IDisposable
{
    /// <summary>page.js's sessionStorage name for the tab's staff key.</summary>
    private const string KeyItem = "sessionStorage.getItem('referral-broker.staff-key')";

    private readonly BrokerApp _app = new(realServer: true);

    public void Dispose() => _app.Dispose();

    /// <summary>
    /// The staff pages' sign-in forms are on screen before their script has run (or when it failed to load): Enter
    /// then submits the form the browser's way, a GET to the page, and a named key field would go into the address,
    /// the tab's history and any log of requested URLs.
    /// </summary>
    [Theory]
    [InlineData("/admin", "#key")]
    [InlineData("/reports", "#api-key")]
    public async Task A_key_submitted_before_the_script_runs_never_goes_into_the_address(string path, string field)
    {
        const string key = BrokerApp.OrgKey;
        await using var tab = await chromium.OpenAsync(new() { JavaScriptEnabled = false });
        var page = tab.Page;
        await page.GotoAsync($"{Pages.Origin(_app)}{path}");
        foreach (var month in await page.Locator("input[type=month]").AllAsync())
        {
            await month.FillAsync("2026-11");
        }

        await page.Locator(field).FillAsync(key);
        await page.Locator(field).PressAsync("Enter");
        // Submitted the browser's way: a GET to the page, "?" and its named fields.
        await Expect(page).ToHaveURLAsync(new Regex(Regex.Escape(path) + @"\?"));

        Assert.DoesNotContain(key, Uri.UnescapeDataString(page.Url), StringComparison.Ordinal);
        Assert.DoesNotContain(tab.Requests, r => Uri.UnescapeDataString(r.Url).Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_page_asks_for_the_key_once_keeps_it_in_session_storage_and_draws_the_report()
    {
        for (var i = 0; i < 6; i++)
        {
            await _app.SubmitAsync();
        }

        await _app.SubmitAsync(BrokerApp.Referral(partnerId: "demo-legal", category: "legal"));
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync($"{Pages.Origin(_app)}/reports");
        await page.GetByLabel("Your key").FillAsync(BrokerApp.OrgKey);
        await ShowAsync(page, "Show report");

        await Expect(page.Locator("#result")).ToBeVisibleAsync();
        await Expect(page.Locator("#result-title")).ToHaveTextAsync("Referrals sent, November 2026");
        await Expect(page.Locator("#organisation")).ToContainTextAsync("Waiting for an answer");
        await Expect(page.Locator("#organisation tr", new() { HasText = "All referrals" })).ToContainTextAsync("6 + some “<5”");
        await Expect(page.Locator("#organisation tr", new() { HasText = "Category: Health" })).ToContainTextAsync("6");
        await Expect(page.Locator("#chart svg rect")).ToHaveCountAsync(2); // the background and one bar: pending, 6
        await Expect(page.Locator("#download-csv")).ToHaveAttributeAsync("href", new Regex("^blob:"));

        Assert.Equal(BrokerApp.OrgKey, await page.EvaluateAsync<string>(KeyItem));
        Assert.Equal(0, await page.EvaluateAsync<int>("localStorage.length"));
        Assert.Equal("", await page.EvaluateAsync<string>("document.cookie"));
        var call = Assert.Single(tab.Requests, r => r.PathAndQuery.StartsWith("/api/reports/summary", StringComparison.Ordinal) && r.PathAndQuery.Contains("format=json", StringComparison.Ordinal));
        Assert.DoesNotContain(BrokerApp.OrgKey, call.Url, StringComparison.Ordinal);
        Assert.Equal($"Bearer {BrokerApp.OrgKey}", call.Headers["authorization"]);

        // Asked once: a reload in the same tab asks for no key and says it is kept; forgetting it clears the tab's storage.
        await page.ReloadAsync();
        await Expect(page.GetByLabel("Your key")).ToBeHiddenAsync();
        await Expect(page.Locator("#key-kept")).ToBeVisibleAsync();
        await ShowAsync(page, "Show report");
        await Expect(page.Locator("#result")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Forget the key" }).ClickAsync();
        Assert.Null(await page.EvaluateAsync<string?>(KeyItem));
        await Expect(page.GetByLabel("Your key")).ToBeVisibleAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("The key is forgotten.");
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task A_key_the_broker_refuses_is_forgotten_and_asked_for_again()
    {
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync($"{Pages.Origin(_app)}/reports");
        await page.GetByLabel("Your key").FillAsync("nobody-holds-this-key");
        await ShowAsync(page, "Show report");

        await Expect(page.Locator("#message")).ToHaveTextAsync("This key was not accepted. Type it again.");
        await Expect(page.GetByLabel("Your key")).ToBeVisibleAsync();
        await Expect(page.Locator("#result")).ToBeHiddenAsync();
        Assert.Null(await page.EvaluateAsync<string?>(KeyItem));
        // Chromium reports the refused fetch itself on the console; nothing else may be there.
        Assert.All(tab.Errors, e => Assert.Contains("401", e, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_staff_navigation_links_the_organisation_pages_in_the_page_language_and_marks_this_one()
    {
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync($"{Pages.Origin(_app)}/reports?lang=es");

        var nav = page.GetByRole(AriaRole.Navigation, new() { Name = "Páginas del personal" });
        var links = nav.GetByRole(AriaRole.Link);
        await Expect(links).ToHaveCountAsync(3);
        Assert.Equal(["/refer?lang=es", "/referrals?lang=es", "/reports?lang=es"],
            await links.EvaluateAllAsync<string[]>("links => links.map(a => a.getAttribute('href'))"));
        await Expect(nav.Locator("[aria-current=page]")).ToHaveTextAsync("Informe de impacto");
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "es");
    }

    /// <summary>Every English text of ReportsText that French says otherwise: none of it may show on the French page.</summary>
    [Fact]
    public async Task In_French_the_page_and_its_report_show_no_English_text()
    {
        for (var i = 0; i < 5; i++)
        {
            await _app.SubmitAsync();
        }

        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync($"{Pages.Origin(_app)}/reports?lang=fr");
        var before = await VisibleTextAsync(page);
        await page.Locator("#api-key").FillAsync(BrokerApp.OrgKey);
        await ShowAsync(page, "Afficher le rapport");
        await Expect(page.Locator("#result")).ToBeVisibleAsync();
        await Expect(page.Locator("#result-title")).ToContainTextAsync("2026");
        var after = await VisibleTextAsync(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "Oublier la clé" }).ClickAsync();
        var forgotten = await VisibleTextAsync(page);

        var english = Resource("ReportsText.resx");
        var french = Resource("ReportsText.fr.resx");
        var fragments = english.Where(e => e.Value != french[e.Key])
            .SelectMany(e => Placeholder().Split(e.Value).Select(f => (e.Key, Text: f.Trim())))
            .Where(f => f.Text.Count(char.IsLetter) >= 4)
            .ToList();
        Assert.NotEmpty(fragments);
        foreach (var (state, text) in new[] { ("before", before), ("after", after), ("forgotten", forgotten) })
        {
            Assert.Empty(fragments.Where(f => text.Contains(f.Text, StringComparison.Ordinal)).Select(f => $"{state}: {f.Key} '{f.Text}'"));
        }

        Assert.Contains("Rapport d’impact", after, StringComparison.Ordinal);
        Assert.Contains("En attente de réponse", after, StringComparison.Ordinal);
        tab.AssertNoErrors();
    }

    private static async Task ShowAsync(IPage page, string button)
    {
        await page.GetByLabel(new Regex("^(From month|Du mois)$")).FillAsync("2026-11");
        await page.GetByLabel(new Regex("^(To month|Au mois)$")).FillAsync("2026-11");
        await page.GetByRole(AriaRole.Button, new() { Name = button }).ClickAsync();
    }

    /// <summary>The page's text but the language picker (each language under its own name), and the chart's.</summary>
    private static Task<string> VisibleTextAsync(IPage page) => page.EvaluateAsync<string>("""
        () => [document.title, document.querySelector('.staff-nav').innerText, document.querySelector('main').innerText,
               ...[...document.querySelectorAll('#chart svg text, #chart svg title')].map(n => n.textContent)].join('\n')
        """);

    private static Dictionary<string, string> Resource(string file) =>
        XDocument.Load(Path.Combine(Pages.RepositoryRoot, "functions", "ReferralBroker.Http", "Pages", file)).Root!.Elements("data")
            .ToDictionary(d => (string)d.Attribute("name")!, d => (string?)d.Element("value") ?? "");

    [GeneratedRegex(@"\{\d+\}")]
    private static partial Regex Placeholder();
}
