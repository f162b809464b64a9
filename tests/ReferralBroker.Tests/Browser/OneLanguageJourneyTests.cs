using System.Net.Http.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.Playwright;
using ReferralBroker.Tests.Integration;
using static Microsoft.Playwright.Assertions;

namespace ReferralBroker.Tests.Browser;

/// <summary>
/// The whole journey in Hindi, each person's browser asking for it (Accept-Language hi-IN), under the real CSP: the
/// caseworker signs in with her own key, refers on /refer with the consent script in Hindi and finds it on
/// /referrals; the partner opens the emailed link, confirms and accepts; the client checks on a phone without
/// JavaScript and withdraws; the partner sees it ended. On no page of it does any English text of the resources appear.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed partial class OneLanguageJourneyTests(Chromium chromium) : IDisposable
{
    private static readonly string PagesFolder = Path.Combine(Pages.RepositoryRoot, "functions", "ReferralBroker.Http", "Pages");

    private readonly BrokerApp _app = new(realServer: true);
    private readonly string _marker = $"{Guid.NewGuid():N}"[..8];

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Caseworker_partner_and_client_do_their_whole_part_in_Hindi_with_no_English_on_any_page()
    {
        // 0. The caseworker, her browser in Hindi, with her own key from her organisation.
        var issued = await _app.Organisation().PostAsJsonAsync("/api/staff", new { name = "मीना" });
        Assert.Equal(System.Net.HttpStatusCode.Created, issued.StatusCode);
        var ownKey = (await issued.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("key").GetString()!;
        await using var caseworker = await chromium.OpenAsync(new() { Locale = "hi-IN" });
        var refer = caseworker.Page;
        await refer.GotoAsync(Pages.ReferPage(_app));
        await Expect(refer.Locator("html")).ToHaveAttributeAsync("lang", "hi");
        await AssertNoEnglishAsync(refer, "refer page, key");
        await refer.Locator("#api-key").FillAsync(ownKey);
        await refer.Locator("#key-form button[type=submit]").ClickAsync();
        await Expect(refer.Locator("#refer-form")).ToBeVisibleAsync();
        await Expect(refer.Locator("#signed-in")).ToContainTextAsync("मीना");
        await AssertNoEnglishAsync(refer, "refer page, empty form");
        await refer.Locator("#client-language").SelectOptionAsync("hi");
        await refer.Locator("#category").SelectOptionAsync("health");
        await refer.Locator("#partner").SelectOptionAsync("demo-health");
        await refer.Locator("#field-firstName").FillAsync($"माया {_marker}");
        await refer.Locator("#field-contact").FillAsync("+91 98 0000 0000");
        await refer.Locator("#field-contactVia").SelectOptionAsync("client");
        await refer.Locator("#field-language").FillAsync("hi");
        await refer.Locator("#field-needs").FillAsync("स्वास्थ्य जाँच; महिला डॉक्टर");
        await Expect(refer.Locator("#script")).ToHaveAttributeAsync("lang", "hi");
        await Expect(refer.Locator("#script-fields li")).ToHaveCountAsync(5);
        await AssertNoEnglishAsync(refer, "refer page, filled with the consent script");
        await refer.Locator("#consent-read").CheckAsync();
        await refer.Locator("#send").ClickAsync();
        await Expect(refer.Locator("#card")).ToBeVisibleAsync();
        var statusToken = (await refer.Locator("#token").TextContentAsync())!.Trim();
        await AssertNoEnglishAsync(refer, "refer page, card");

        await refer.GotoAsync($"{Pages.Origin(_app)}/referrals");
        await Expect(refer.Locator("#content")).ToBeVisibleAsync();
        await Expect(refer.Locator("#rows tr")).ToHaveCountAsync(1);
        await Expect(refer.Locator("#rows tr").First).ToContainTextAsync("Demo community clinic");
        await Expect(refer.Locator("#rows tr").First).ToContainTextAsync("स्वास्थ्य");
        await AssertNoEnglishAsync(refer, "referrals page");
        caseworker.AssertNoErrors();

        Assert.Equal(1, await _app.DispatchAsync());
        var (referralId, emailedLink) = Pages.OnlyEmailedLink(_app);

        // 1. The partner, her browser in Hindi.
        await using var partner = await chromium.OpenAsync(new() { Locale = "hi-IN" });
        var page = partner.Page;
        await page.GotoAsync(emailedLink);
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "hi");
        await Expect(page.Locator("#details")).ToContainTextAsync($"माया {_marker}");
        await Expect(page.Locator("#details")).ToContainTextAsync("हिन्दी");
        await Expect(page.Locator("#category")).ToHaveTextAsync("स्वास्थ्य");
        await Expect(page.Locator("#status")).ToHaveTextAsync("नया");
        await Expect(page.Locator("#referrer")).ToHaveTextAsync("Demo outreach organisation");
        await Expect(page.Locator("#keep-notice")).ToContainTextAsync("23 दिसंबर 2026");
        await AssertNoEnglishAsync(page, "partner page, opened");

        await page.GetByRole(AriaRole.Button, new() { Name = "स्वीकार करें", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "यह रेफ़रल स्वीकार करें?" })).ToBeFocusedAsync();
        await AssertNoEnglishAsync(page, "partner page, confirming acceptance");
        await page.GetByRole(AriaRole.Button, new() { Name = "हाँ, स्वीकार करें" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("सहेज लिया गया। रेफ़रल अब: स्वीकार किया।");
        Assert.Equal("accepted", await _app.OrganisationStatusAsync(referralId));
        await AssertNoEnglishAsync(page, "partner page, accepted");
        // A reload keeps the referral open (the tab's sessionStorage), still in Hindi.
        await page.ReloadAsync();
        await Expect(page.Locator("#state")).ToHaveTextAsync("आपने यह रेफ़रल स्वीकार किया।");
        partner.AssertNoErrors();

        // 2. The client, on a phone without JavaScript, her browser in Hindi.
        await using var client = await chromium.OpenAsync(new()
        {
            JavaScriptEnabled = false,
            ViewportSize = new() { Width = 360, Height = 640 },
            Locale = "hi-IN",
        });
        var status = client.Page;
        await status.GotoAsync(Pages.StatusPage(_app));
        await Expect(status.Locator("html")).ToHaveAttributeAsync("lang", "hi");
        await AssertNoEnglishAsync(status, "status form");
        await status.GetByLabel("आपका कोड").FillAsync(statusToken);
        await status.GetByRole(AriaRole.Button, new() { Name = "देखें", Exact = true }).ClickAsync();
        await Expect(status.Locator("#status")).ToHaveTextAsync("स्वीकार कर लिया गया। सेवा आपकी मदद कर सकती है।");
        await status.Locator("#held-facts summary").ClickAsync();
        await Expect(status.Locator("#held")).ToContainTextAsync("Demo community clinic");
        await AssertNoEnglishAsync(status, "status result");

        await status.GetByRole(AriaRole.Button, new() { Name = "मेरा रेफ़रल रोकें" }).ClickAsync();
        await Expect(status.GetByRole(AriaRole.Heading, new() { Name = "यह रेफ़रल रोकें?" })).ToBeVisibleAsync();
        await AssertNoEnglishAsync(status, "status confirmation");
        await status.GetByRole(AriaRole.Button, new() { Name = "हाँ, मेरा रेफ़रल रोकें" }).ClickAsync();
        await Expect(status.Locator("#status")).ToHaveTextAsync("आपने इसे रोक दिया।");
        await Expect(status.GetByRole(AriaRole.Status)).ToHaveTextAsync("आपका रेफ़रल रोक दिया गया है।");
        await AssertNoEnglishAsync(status, "status withdrawn");
        Assert.Equal("withdrawn", await _app.OrganisationStatusAsync(referralId));

        // 3. The partner's page, reloaded: ended, nothing of the client, still in Hindi.
        await page.ReloadAsync();
        await Expect(page.Locator("#status")).ToHaveTextAsync("व्यक्ति ने वापस ले लिया");
        await Expect(page.Locator("#sealed-gone")).ToBeVisibleAsync();
        await Expect(page.Locator("#details")).ToBeEmptyAsync();
        await AssertNoEnglishAsync(page, "partner page, withdrawn");
        await page.GetByRole(AriaRole.Button, new() { Name = "इस डिवाइस पर यह रेफ़रल भूल जाएँ" }).ClickAsync();
        await AssertNoEnglishAsync(page, "partner page, forgotten");
        partner.AssertNoErrors();
    }

    /// <summary>
    /// Every English text of the client's, the partner's and the caseworker's resources, or each long piece of one around its
    /// placeholders: none may show on a page that is in another language. The language names are left out (the
    /// picker names English "English", on purpose), and so is the date format; the directory's names are data.
    /// </summary>
    private static readonly string[] EnglishTexts = [.. new[] { "ClientText.resx", "PartnerText.resx", "ReferText.resx", "ReferralsText.resx" }
        .SelectMany(file => XDocument.Load(Path.Combine(PagesFolder, file)).Root!.Elements("data"))
        .Where(data => !((string)data.Attribute("name")!).StartsWith("Language_", StringComparison.Ordinal) && (string)data.Attribute("name")! != "DateFormat")
        .SelectMany(data => PlaceholderPattern().Split((string?)data.Element("value") ?? ""))
        .Select(piece => piece.Trim(' ', '.', ',', ':', '(', ')', '“', '”'))
        .Where(piece => piece.Length >= 4 || (piece.Length >= 2 && piece.All(char.IsAsciiLetter)))
        .Distinct()];

    private static async Task AssertNoEnglishAsync(IPage page, string state)
    {
        var shown = await page.EvaluateAsync<string>("() => document.title + '\\n' + document.body.innerText");
        var english = EnglishTexts.Where(text => Regex.IsMatch(shown, $@"(?<![A-Za-z]){Regex.Escape(text)}(?![A-Za-z])")).ToList();
        Assert.True(english.Count == 0, $"English on the {state}: {string.Join(" | ", english)}\n---\n{shown}");
        // Some text is there, and it is Hindi.
        Assert.Matches(@"\p{IsDevanagari}{4}", shown);
    }

    [GeneratedRegex(@"\{\d+\}")]
    private static partial Regex PlaceholderPattern();
}
