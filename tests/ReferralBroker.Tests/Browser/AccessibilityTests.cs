using System.Text.Json;
using Microsoft.Playwright;
using ReferralBroker.Tests.Integration;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace ReferralBroker.Tests.Browser;

/// <summary>
/// axe-core over every page as people see them: on a phone-sized screen, light and dark, with the content shown.
/// The context bypasses the CSP only so the test can inject axe; the other browser tests run under the real CSP.
/// Each run leaves screenshots in TestResults/browser to look at (docs/screenshots with REFERRALBROKER_SCREENSHOTS=1).
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class AccessibilityTests(Chromium chromium, ITestOutputHelper output) : IDisposable
{
    private readonly BrokerApp _app = new(realServer: true);

    public void Dispose() => _app.Dispose();

    /// <summary>
    /// Every page in every state a person meets, in the order they meet them: the caseworker's key, form and card;
    /// the partner's referral before and after accepting; the client's form, error, status, confirmation and
    /// withdrawal; the partner's page once withdrawn; the home page. Screenshots are taken of each in light mode.
    /// </summary>
    [Theory]
    [InlineData(ColorScheme.Light)]
    [InlineData(ColorScheme.Dark)]
    public async Task Every_page_in_every_state_has_no_serious_or_critical_violations(ColorScheme scheme)
    {
        await using var tab = await chromium.OpenAsync(PhoneContext(scheme));
        var page = tab.Page;
        async Task CheckAsync(string state)
        {
            if (scheme == ColorScheme.Light)
            {
                await page.ScreenshotAsync(new() { Path = Pages.ScreenshotPath(state), FullPage = true });
            }

            await page.AddScriptTagAsync(new() { Path = Pages.AxeScript });
            await Axe.AssertNoSeriousViolationsAsync(page, state, output);
        }

        await page.GotoAsync(Pages.ReferPage(_app));
        await Expect(page.GetByLabel("Staff key")).ToBeVisibleAsync();
        await CheckAsync("refer-key");
        await page.GetByLabel("Staff key").FillAsync(BrokerApp.OrgKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Use this key" }).ClickAsync();
        await page.Locator("#client-language").SelectOptionAsync("es");
        await page.Locator("#share-firstName").CheckAsync();
        await page.Locator("#field-firstName").FillAsync("Ana");
        await page.Locator("#share-needs").CheckAsync();
        await page.Locator("#field-needs").FillAsync("Advice on a work permit");
        await page.Locator("#category").SelectOptionAsync("legal");
        await Expect(page.Locator("#partner")).ToHaveValueAsync("demo-legal");
        await page.GetByLabel("I read the consent script").CheckAsync();
        await CheckAsync("refer-form");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send the referral" }).ClickAsync();
        await Expect(page.Locator("#card")).ToBeVisibleAsync();
        var token = (await page.Locator("#token").TextContentAsync())!;
        await CheckAsync("refer-card");

        await _app.DispatchAsync();
        var (_, link) = Pages.OnlyEmailedLink(_app);
        await page.GotoAsync(link);
        await Expect(page.Locator("#details")).ToContainTextAsync("Ana");
        await CheckAsync("partner-referral");
        await page.GetByRole(AriaRole.Button, new() { Name = "Accept", Exact = true }).ClickAsync();
        await Expect(page.Locator("#confirm-accept")).ToBeVisibleAsync();
        await CheckAsync("partner-confirm-accept");
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, accept" }).ClickAsync();
        await Expect(page.Locator("#progress")).ToBeVisibleAsync();
        await CheckAsync("partner-accepted");

        await page.GotoAsync(Pages.StatusPage(_app) + "?lang=en");
        await CheckAsync("status-form");
        await page.GetByLabel("Your code").FillAsync("0000-0000-0000-0000");
        await page.GetByRole(AriaRole.Button, new() { Name = "Check", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToBeVisibleAsync();
        await CheckAsync("status-not-found");
        await page.GetByLabel("Your code").FillAsync(token);
        await page.GetByRole(AriaRole.Button, new() { Name = "Check", Exact = true }).ClickAsync();
        await Expect(page.Locator("#status")).ToBeVisibleAsync();
        await page.Locator("#held-facts summary").ClickAsync();
        await Expect(page.Locator("#held")).ToBeVisibleAsync();
        await CheckAsync("status-result");
        await page.GetByRole(AriaRole.Button, new() { Name = "Español" }).ClickAsync();
        await Expect(page.Locator("#status")).ToHaveTextAsync("Aceptada. El servicio puede ayudarle.");
        await CheckAsync("status-result-es");
        await page.GetByRole(AriaRole.Button, new() { Name = "Detener mi derivación" }).ClickAsync();
        await CheckAsync("status-confirm-es");
        await page.GetByRole(AriaRole.Button, new() { Name = "English" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Stop this referral?" })).ToBeVisibleAsync();
        await CheckAsync("status-confirm");
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, stop my referral" }).ClickAsync();
        await Expect(page.Locator("#status")).ToHaveTextAsync("Stopped by you.");
        await CheckAsync("status-withdrawn");

        await page.GotoAsync(link);
        await Expect(page.Locator("#status")).ToHaveTextAsync("Withdrawn by the person");
        await CheckAsync("partner-withdrawn");

        await page.GotoAsync(Pages.Origin(_app) + "/?lang=th");
        await CheckAsync("home-th");
        await page.GotoAsync(Pages.StatusPage(_app) + "?lang=zh-Hans");
        await CheckAsync("status-form-zh-hans");
    }

    /// <summary>
    /// The partner's page and the client's result page in Korean (Hangul), each state they have: a referral to
    /// decide, each confirmation, accepted, declined, withdrawn, forgotten, a damaged link; the client's form, a wrong
    /// code, the result with what is held unfolded, the confirmation, withdrawn.
    /// </summary>
    [Theory]
    [InlineData(ColorScheme.Light)]
    [InlineData(ColorScheme.Dark)]
    public async Task The_partner_page_and_the_client_result_in_Korean_have_no_serious_or_critical_violations(ColorScheme scheme)
    {
        var context = PhoneContext(scheme);
        context.Locale = "ko-KR";
        await using var tab = await chromium.OpenAsync(context);
        var page = tab.Page;
        async Task CheckAsync(string state)
        {
            await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "ko");
            if (scheme == ColorScheme.Light)
            {
                await page.ScreenshotAsync(new() { Path = Pages.ScreenshotPath(state), FullPage = true });
            }

            await page.AddScriptTagAsync(new() { Path = Pages.AxeScript });
            await Axe.AssertNoSeriousViolationsAsync(page, state, output);
        }

        var (accepted, _) = await _app.SubmitAndDispatchAsync();
        var (declined, _) = await _app.SubmitAndDispatchAsync();

        await page.GotoAsync(Pages.EmailedLink(_app, accepted.ReferralId));
        await Expect(page.Locator("#details")).Not.ToBeEmptyAsync();
        await CheckAsync("partner-ko-new");
        await page.GetByRole(AriaRole.Button, new() { Name = "수락", Exact = true }).ClickAsync();
        await CheckAsync("partner-ko-confirm-accept");
        await page.GetByRole(AriaRole.Button, new() { Name = "네, 수락합니다" }).ClickAsync();
        await Expect(page.Locator("#progress")).ToBeVisibleAsync();
        await CheckAsync("partner-ko-accepted");

        await page.GotoAsync(Pages.EmailedLink(_app, declined.ReferralId));
        await page.GetByRole(AriaRole.Button, new() { Name = "거절", Exact = true }).ClickAsync();
        await CheckAsync("partner-ko-confirm-decline");
        await page.GetByRole(AriaRole.Button, new() { Name = "네, 거절합니다" }).ClickAsync();
        await Expect(page.Locator("#sealed-gone")).ToBeVisibleAsync();
        await CheckAsync("partner-ko-declined");
        await page.GetByRole(AriaRole.Button, new() { Name = "이 기기에서 이 연계 의뢰 잊기" }).ClickAsync();
        await Expect(page.Locator("#referral")).ToBeHiddenAsync();
        await CheckAsync("partner-ko-forgotten");
        await page.GotoAsync(Pages.PartnerPage(_app, declined.ReferralId, "cut-short"));
        await Expect(page.Locator("#message")).Not.ToBeEmptyAsync();
        await CheckAsync("partner-ko-incomplete-link");

        await page.GotoAsync(Pages.StatusPage(_app));
        await CheckAsync("status-ko-form");
        await page.Locator("#token").FillAsync("0000-0000-0000-0000");
        await page.Locator("#token").PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Alert)).ToBeVisibleAsync();
        await CheckAsync("status-ko-not-found");
        await page.Locator("#token").FillAsync(accepted.StatusToken);
        await page.Locator("#token").PressAsync("Enter");
        await page.Locator("#held-facts summary").ClickAsync();
        await Expect(page.Locator("#held")).ToBeVisibleAsync();
        await CheckAsync("status-ko-result");
        await page.GetByRole(AriaRole.Button, new() { Name = "연계 의뢰 중단하기" }).ClickAsync();
        await CheckAsync("status-ko-confirm");
        await page.GetByRole(AriaRole.Button, new() { Name = "네, 중단합니다" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToBeVisibleAsync();
        await CheckAsync("status-ko-withdrawn");

        await page.GotoAsync(Pages.EmailedLink(_app, accepted.ReferralId));
        await Expect(page.Locator("#sealed-gone")).ToBeVisibleAsync();
        await CheckAsync("partner-ko-withdrawn");
    }

    [Theory]
    [InlineData(ColorScheme.Light)]
    [InlineData(ColorScheme.Dark)]
    public async Task The_reports_page_has_no_serious_or_critical_violations(ColorScheme scheme)
    {
        for (var i = 0; i < 5; i++)
        {
            await _app.SubmitAsync();
        }

        await using var tab = await chromium.OpenAsync(PhoneContext(scheme));
        var page = tab.Page;
        await page.GotoAsync($"{Pages.Origin(_app)}/reports");
        await page.AddScriptTagAsync(new() { Path = Pages.AxeScript });
        await Axe.AssertNoSeriousViolationsAsync(page, "reports page, empty", output);

        await page.GetByLabel("Your key").FillAsync("nobody-holds-this-key");
        await page.GetByRole(AriaRole.Button, new() { Name = "Show report" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("This key was not accepted. Type it again.");
        await Axe.AssertNoSeriousViolationsAsync(page, "reports page, key refused", output);

        await page.GetByLabel("Your key").FillAsync(BrokerApp.OrgKey);
        await page.GetByLabel("From month").FillAsync("2026-11");
        await page.GetByLabel("To month").FillAsync("2026-11");
        await page.GetByRole(AriaRole.Button, new() { Name = "Show report" }).ClickAsync();
        await Expect(page.Locator("#result")).ToBeVisibleAsync();
        await page.ScreenshotAsync(new() { Path = Pages.ScreenshotPath($"reports-{scheme}".ToLowerInvariant()), FullPage = true });
        await Axe.AssertNoSeriousViolationsAsync(page, "reports page, report shown", output);

        // The key kept for the tab: the page says so instead of asking again.
        await page.ReloadAsync();
        await Expect(page.Locator("#key-kept")).ToBeVisibleAsync();
        await page.AddScriptTagAsync(new() { Path = Pages.AxeScript });
        await Axe.AssertNoSeriousViolationsAsync(page, "reports page, key kept", output);
    }

    /// <summary>Clients and partners alike mostly open these pages on phones.</summary>
    private static BrowserNewContextOptions PhoneContext(ColorScheme scheme) => new()
    {
        BypassCSP = true,
        ColorScheme = scheme,
        ViewportSize = new() { Width = 390, Height = 844 },
        Locale = "en-GB",
    };
}
