using System.Text.Json;
using Microsoft.Playwright;
using ReferralBroker.Tests.Integration;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace ReferralBroker.Tests.Browser;

/// <summary>
/// axe-core over both pages as people see them: on a phone-sized screen, light and dark, with the content shown.
/// The context bypasses the CSP only so the test can inject axe; the other browser tests run under the real CSP.
/// Each run leaves a screenshot in TestResults/browser to look at.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class AccessibilityTests(Chromium chromium, ITestOutputHelper output) : IDisposable
{
    private const string RunAxe = """
        async () => {
          const result = await axe.run(document, { resultTypes: ['violations'] });
          return {
            passes: result.passes.length,
            violations: result.violations.map((v) => ({
              id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.map((n) => n.target.join(' ') + ' (' + n.failureSummary + ')'),
            })),
          };
        }
        """;

    private readonly BrokerApp _app = new(realServer: true);

    public void Dispose() => _app.Dispose();

    [Theory]
    [InlineData(ColorScheme.Light)]
    [InlineData(ColorScheme.Dark)]
    public async Task The_status_page_has_no_serious_or_critical_violations(ColorScheme scheme)
    {
        var submitted = await _app.SubmitAsync(BrokerApp.Referral());
        await using var tab = await chromium.OpenAsync(PhoneContext(scheme));
        var page = tab.Page;
        await page.GotoAsync(Pages.StatusPage(_app));
        await page.AddScriptTagAsync(new() { Path = Pages.AxeScript });
        await AssertNoSeriousViolationsAsync(page, "status page, empty");

        await page.GetByLabel("Your code").FillAsync(submitted.StatusToken);
        await page.GetByRole(AriaRole.Button, new() { Name = "Check" }).ClickAsync();
        await Expect(page.Locator("#result")).ToBeVisibleAsync();
        await page.ScreenshotAsync(new() { Path = Pages.ScreenshotPath($"status-{scheme}".ToLowerInvariant()), FullPage = true });
        await AssertNoSeriousViolationsAsync(page, "status page, referral shown");
    }

    [Theory]
    [InlineData(ColorScheme.Light)]
    [InlineData(ColorScheme.Dark)]
    public async Task The_opened_partner_page_has_no_serious_or_critical_violations(ColorScheme scheme)
    {
        var (submitted, _) = await _app.SubmitAndDispatchAsync(BrokerApp.Referral());
        await using var tab = await chromium.OpenAsync(PhoneContext(scheme));
        var page = tab.Page;
        await page.GotoAsync(Pages.EmailedLink(_app, submitted.ReferralId));
        await Expect(page.Locator("#details")).ToContainTextAsync("Mai");
        await page.AddScriptTagAsync(new() { Path = Pages.AxeScript });
        await page.ScreenshotAsync(new() { Path = Pages.ScreenshotPath($"partner-{scheme}".ToLowerInvariant()), FullPage = true });
        await AssertNoSeriousViolationsAsync(page, "partner page, referral opened");
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
        await AssertNoSeriousViolationsAsync(page, "reports page, empty");

        await page.GetByLabel("Your organisation's API key").FillAsync(BrokerApp.OrgKey);
        await page.GetByLabel("From month").FillAsync("2026-11");
        await page.GetByLabel("To month").FillAsync("2026-11");
        await page.GetByRole(AriaRole.Button, new() { Name = "Show report" }).ClickAsync();
        await Expect(page.Locator("#result")).ToBeVisibleAsync();
        await page.ScreenshotAsync(new() { Path = Pages.ScreenshotPath($"reports-{scheme}".ToLowerInvariant()), FullPage = true });
        await AssertNoSeriousViolationsAsync(page, "reports page, report shown");
    }

    /// <summary>Clients and partners alike mostly open these pages on phones.</summary>
    private static BrowserNewContextOptions PhoneContext(ColorScheme scheme) => new()
    {
        BypassCSP = true,
        ColorScheme = scheme,
        ViewportSize = new() { Width = 390, Height = 844 },
        Locale = "en-GB",
    };

    private async Task AssertNoSeriousViolationsAsync(IPage page, string state)
    {
        var result = await page.EvaluateAsync<JsonElement>(RunAxe);
        Assert.True(result.GetProperty("passes").GetInt32() > 0, "axe-core checked nothing: did it run?");
        var violations = result.GetProperty("violations").EnumerateArray().ToList();
        foreach (var violation in violations)
        {
            output.WriteLine($"{state}: {Describe(violation)}");
        }

        var serious = violations.Where(v => v.GetProperty("impact").GetString() is "serious" or "critical").Select(Describe).ToList();
        Assert.True(serious.Count == 0, $"axe-core on the {state}:\n{string.Join('\n', serious)}");
    }

    private static string Describe(JsonElement violation) =>
        $"[{violation.GetProperty("impact").GetString()}] {violation.GetProperty("id").GetString()}: " +
        $"{violation.GetProperty("help").GetString()} at {string.Join("; ", violation.GetProperty("nodes").EnumerateArray().Select(n => n.GetString()))}";
}
