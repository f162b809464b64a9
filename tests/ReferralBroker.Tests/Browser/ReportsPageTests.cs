using Microsoft.Playwright;
using ReferralBroker.Tests.Integration;
using static Microsoft.Playwright.Assertions;

namespace ReferralBroker.Tests.Browser;

/// <summary>The /reports page under its real CSP: the key kept for the tab only, the figures, the chart and the CSV.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ReportsPageTests(Chromium chromium) : IDisposable
{
    private readonly BrokerApp _app = new(realServer: true);

    public void Dispose() => _app.Dispose();

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
        await page.GetByLabel("Your organisation's API key").FillAsync(BrokerApp.OrgKey);
        await page.GetByLabel("From month").FillAsync("2026-11");
        await page.GetByLabel("To month").FillAsync("2026-11");
        await page.GetByRole(AriaRole.Button, new() { Name = "Show report" }).ClickAsync();

        await Expect(page.Locator("#result")).ToBeVisibleAsync();
        await Expect(page.Locator("#period")).ToHaveTextAsync("2026-11");
        await Expect(page.Locator("#organisation")).ToContainTextAsync("Waiting for an answer");
        await Expect(page.Locator("#organisation tr", new() { HasText = "All referrals" })).ToContainTextAsync("6 + some “<5”");
        await Expect(page.Locator("#chart svg rect")).ToHaveCountAsync(2); // the background and one bar: pending, 6
        await Expect(page.Locator("#download-csv")).ToHaveAttributeAsync("href", new System.Text.RegularExpressions.Regex("^blob:"));

        Assert.Equal(BrokerApp.OrgKey, await page.EvaluateAsync<string>("sessionStorage.getItem('referral-broker-api-key')"));
        Assert.Equal(0, await page.EvaluateAsync<int>("localStorage.length"));
        Assert.Equal("", await page.EvaluateAsync<string>("document.cookie"));
        var call = Assert.Single(tab.Requests, r => r.PathAndQuery.StartsWith("/api/reports/summary", StringComparison.Ordinal) && r.PathAndQuery.Contains("format=json", StringComparison.Ordinal));
        Assert.DoesNotContain(BrokerApp.OrgKey, call.Url, StringComparison.Ordinal);
        Assert.Equal($"Bearer {BrokerApp.OrgKey}", call.Headers["authorization"]);

        // Asked once: a reload in the same tab needs no key; forgetting it clears the tab's storage.
        await page.ReloadAsync();
        await page.GetByLabel("From month").FillAsync("2026-11");
        await page.GetByLabel("To month").FillAsync("2026-11");
        await page.GetByRole(AriaRole.Button, new() { Name = "Show report" }).ClickAsync();
        await Expect(page.Locator("#result")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Forget the key" }).ClickAsync();
        Assert.Null(await page.EvaluateAsync<string?>("sessionStorage.getItem('referral-broker-api-key')"));
        tab.AssertNoErrors();
    }
}
