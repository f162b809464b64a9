using Microsoft.Playwright;
using ReferralBroker.Tests.Integration;
using static Microsoft.Playwright.Assertions;

namespace ReferralBroker.Tests.Browser;

/// <summary>The caseworker's intake page: where the API key is kept, and a retry after a lost answer.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ReferPageTests(Chromium chromium) : IDisposable
{
    private const string KeyName = "referral-broker.api-key";

    private readonly BrokerApp _app = new(realServer: true);

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task The_API_key_is_kept_in_session_storage_only_asked_again_when_refused_and_forgotten_on_request()
    {
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync(Pages.ReferPage(_app));
        await page.GetByLabel("API key").FillAsync("not-the-key");
        await page.GetByRole(AriaRole.Button, new() { Name = "Use this key" }).ClickAsync();
        await FillMinimalReferralAsync(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send the referral" }).ClickAsync();

        await Expect(page.Locator("#message")).ToHaveTextAsync("The API key was not accepted. Enter it again.");
        await Expect(page.GetByLabel("API key")).ToBeVisibleAsync();
        Assert.Null(await page.EvaluateAsync<string?>($"sessionStorage.getItem('{KeyName}')"));

        await page.GetByLabel("API key").FillAsync(BrokerApp.OrgKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Use this key" }).ClickAsync();
        Assert.Equal(BrokerApp.OrgKey, await page.EvaluateAsync<string?>($"sessionStorage.getItem('{KeyName}')"));
        // Nowhere else: not in local storage, not in a cookie, not left in the form.
        Assert.Equal(0, await page.EvaluateAsync<int>("localStorage.length"));
        Assert.Empty(await tab.Context.CookiesAsync());
        Assert.Equal("", await page.EvaluateAsync<string>("document.getElementById('api-key').value"));

        // Asked once: a reload in the same tab goes straight to the form.
        await page.ReloadAsync();
        await Expect(page.Locator("#refer-form")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Forget the API key" }).ClickAsync();
        await Expect(page.GetByLabel("API key")).ToBeVisibleAsync();
        Assert.Null(await page.EvaluateAsync<string?>($"sessionStorage.getItem('{KeyName}')"));
        Assert.Empty(_app.Outbox());
        await _app.DispatchAsync();
        Assert.Empty(_app.Outbox());
        // The refused call is the only thing Chromium complains about: no script error, no CSP refusal.
        Assert.All(tab.Errors, error => Assert.Contains("status of 401 (Unauthorized)", error, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sending_again_after_a_lost_answer_reuses_the_Idempotency_Key_and_makes_one_referral()
    {
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        var lost = 0;
        // The first answer is lost on the way back: the broker made the referral, the browser never heard.
        await page.RouteAsync("**/api/referrals", async route =>
        {
            if (Interlocked.Increment(ref lost) == 1)
            {
                await route.FetchAsync();
                await route.AbortAsync();
            }
            else
            {
                await route.ContinueAsync();
            }
        });
        await page.GotoAsync(Pages.ReferPage(_app));
        await page.GetByLabel("API key").FillAsync(BrokerApp.OrgKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Use this key" }).ClickAsync();
        await FillMinimalReferralAsync(page);

        await page.GetByRole(AriaRole.Button, new() { Name = "Send the referral" }).ClickAsync();
        await Expect(page.Locator("#message")).ToContainTextAsync("could not be sent");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send the referral" }).ClickAsync();
        await Expect(page.Locator("#card")).ToBeVisibleAsync();

        var sent = tab.Requests.Where(r => r.Method == "POST" && r.PathAndQuery == "/api/referrals").ToList();
        Assert.Equal(2, sent.Count);
        Assert.Single(sent.Select(r => r.Headers["idempotency-key"]).Distinct());
        await _app.DispatchAsync();
        Assert.Single(_app.Outbox());
        // The code shown is the one referral's: the retry got the first answer back, not a second referral.
        var shown = await page.Locator("#token").TextContentAsync();
        Assert.Equal("delivered", (await _app.StatusAsync(shown!)).GetProperty("status").GetString());
    }

    private static async Task FillMinimalReferralAsync(IPage page)
    {
        await page.Locator("#share-needs").CheckAsync();
        await page.Locator("#field-needs").FillAsync("Advice on a work permit");
        await page.Locator("#category").SelectOptionAsync("legal");
        await page.GetByLabel("I read the consent script").CheckAsync();
    }
}
