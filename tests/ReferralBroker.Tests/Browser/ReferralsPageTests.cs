using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using ReferralBroker.Ports;
using ReferralBroker.Tests.Integration;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace ReferralBroker.Tests.Browser;

/// <summary>
/// The caseworker's day on /refer and /referrals under the real CSP: she signs in, refers with a safe (duress) code,
/// finds the referral in her list, sees the safe code used and a delivery failure impossible to miss, sends it again,
/// and flags a partner. Then axe, light and dark, on every state of both pages.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class ReferralsPageTests(Chromium chromium, ITestOutputHelper output) : IDisposable
{
    private readonly BrokerApp _app = new(realServer: true);

    public void Dispose() => _app.Dispose();

    private string Referrals => $"{Pages.Origin(_app)}/referrals";

    [Fact]
    public async Task A_caseworker_refers_with_a_safe_code_sees_it_used_and_a_failed_delivery_in_her_list_and_sends_it_again()
    {
        // Her own key, issued by her organisation (POST /api/staff with its system key).
        var issued = await _app.Organisation().PostAsJsonAsync("/api/staff", new { name = "Mai" });
        Assert.Equal(System.Net.HttpStatusCode.Created, issued.StatusCode);
        var ownKey = (await issued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;

        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync(Pages.ReferPage(_app));
        await page.GetByLabel("Staff key").FillAsync(ownKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Use this key" }).ClickAsync();
        await Expect(page.Locator("#signed-in")).ToHaveTextAsync("Signed in as Mai, Demo outreach organisation");
        await Expect(page.Locator("#refer-form")).ToBeVisibleAsync();
        await page.Locator("#category").SelectOptionAsync("health");
        await page.Locator("#field-firstName").FillAsync("Ana");
        await page.Locator("#field-needs").FillAsync("STI testing");
        await page.GetByLabel("Also make a safe code").CheckAsync();
        await Expect(page.Locator("#duress-limits")).ToContainTextAsync("Never put both codes on one card");
        await page.GetByLabel("I read the consent script").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Send the referral" }).ClickAsync();
        await Expect(page.Locator("#card")).ToBeVisibleAsync();
        var token = (await page.Locator("#token").TextContentAsync())!;
        var duress = (await page.Locator("#duress-token").TextContentAsync())!;
        Assert.NotEqual(token, duress);
        await Expect(page.Locator("#card")).Not.ToContainTextAsync(duress);

        // Someone makes her show a code: she gives the safe one, which looks unknown.
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await _app.CreateClient().PostAsJsonAsync("/api/status", new { token = duress })).StatusCode);
        // The partner is never reached: the message outlives its time-to-live and the sweep marks it.
        await WaitForDuressAsync(_app);
        _app.Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await _app.SweepAsync();

        // To her list by the staff navigation, asked for no key again.
        await page.GetByRole(AriaRole.Navigation, new() { Name = "Staff pages" }).GetByRole(AriaRole.Link, new() { Name = "Referrals sent" }).ClickAsync();
        await Expect(page.Locator("#content")).ToBeVisibleAsync();
        await Expect(page.Locator("#signed-in")).ToHaveTextAsync("Signed in as Mai, Demo outreach organisation");
        var row = page.Locator("#rows tr").First;
        await Expect(row).ToContainTextAsync("Demo community clinic");
        await Expect(row).ToContainTextAsync("Health");
        await Expect(row).ToContainTextAsync("Not delivered");
        await Expect(row).ToContainTextAsync("Safe code used");
        await Expect(page.Locator("#attention")).ToHaveClassAsync("alert");
        await Expect(page.Locator("#attention")).ToContainTextAsync("Not delivered, to send again with the person: 1");
        await Expect(page.Locator("#attention")).ToContainTextAsync("Safe code used: 1");
        // Nothing about her: the broker has nothing to show.
        await Expect(page.Locator("main")).Not.ToContainTextAsync("Ana");
        await Expect(page.Locator("main")).Not.ToContainTextAsync("STI testing");

        await row.GetByRole(AriaRole.Button, new() { Name = "Send again" }).ClickAsync();
        await Expect(page.Locator("#resend-title")).ToBeFocusedAsync();
        await page.Locator("#again-firstName").FillAsync("Ana");
        await Expect(page.Locator("#again-share-firstName")).ToBeCheckedAsync();
        await page.Locator("#again-needs").FillAsync("STI testing, again");
        await page.Locator("#again-consent").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Send again" }).Last.ClickAsync();
        await Expect(page.Locator("#message")).ToContainTextAsync("Sent again to Demo community clinic");
        // What she typed with the person does not stay behind in the closed form, for the next one at this screen.
        await Expect(page.Locator("#again-firstName")).ToHaveValueAsync("");
        await Expect(page.Locator("#again-needs")).ToHaveValueAsync("");
        await Expect(page.Locator("#rows tr").First).Not.ToContainTextAsync("Not delivered");
        await Expect(page.Locator("#attention")).ToContainTextAsync("Safe code used: 1");

        Assert.Equal(1, await _app.DispatchAsync());
        var link = BrokerApp.LinkIn(Assert.Single(_app.Outbox(), m => m.Contains("/partner/", StringComparison.Ordinal)));
        Assert.Equal("delivered", (await _app.StatusAsync(token)).GetProperty("status").GetString());
        var record = (await _app.Services.GetRequiredService<IReferralStore>().FindAsync(link.ReferralId, CancellationToken.None))!.Value;
        Assert.Contains("STI testing, again", System.Text.Encoding.UTF8.GetString(Sealing.ReferralSeal.Open(link.ReferralId, record.Sealed!, link.SecretBytes)), StringComparison.Ordinal);

        await page.ReloadAsync();
        await Expect(page.Locator("#rows tr").First).ToContainTextAsync("Delivered");
        await page.Locator("#rows tr").First.GetByText("History (3)").ClickAsync();
        await Expect(page.Locator("#rows tr").First).ToContainTextAsync("Sent again");
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task A_caseworker_flags_a_partner_with_a_reason_from_the_list_and_filters_her_referrals()
    {
        await _app.SubmitAsync();
        await _app.SubmitAsync(BrokerApp.Referral(partnerId: "demo-legal", category: "legal"));
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await SignInAsync(page);
        await Expect(page.Locator("#rows tr")).ToHaveCountAsync(2);
        await Expect(page.Locator("#attention")).ToHaveClassAsync("ok");

        await page.Locator("#filter-category").SelectOptionAsync("legal");
        await page.GetByRole(AriaRole.Button, new() { Name = "Show", Exact = true }).ClickAsync();
        await Expect(page.Locator("#rows tr")).ToHaveCountAsync(1);
        await Expect(page.Locator("#rows tr")).ToContainTextAsync("Demo migrant legal aid");
        await page.Locator("#filter-status").SelectOptionAsync("completed");
        await page.GetByRole(AriaRole.Button, new() { Name = "Show", Exact = true }).ClickAsync();
        await Expect(page.Locator("#empty")).ToBeVisibleAsync();
        await page.Locator("#filter-status").SelectOptionAsync("");
        await page.GetByRole(AriaRole.Button, new() { Name = "Show", Exact = true }).ClickAsync();

        await page.Locator("#rows tr").First.GetByRole(AriaRole.Button, new() { Name = "Flag the partner" }).ClickAsync();
        await Expect(page.Locator("#flag-title")).ToHaveTextAsync("Flag Demo migrant legal aid");
        await page.GetByLabel("What happened").SelectOptionAsync("demanded-identity-documents");
        await page.Locator("#flag-send").ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("Your flag on Demo migrant legal aid is recorded.");
        var flags = await _app.Services.GetRequiredService<IDirectoryStore>().FlagsAsync("demo-legal", CancellationToken.None);
        Assert.Equal("demanded-identity-documents", Assert.Single(flags).Reason);
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task A_wrong_key_opens_no_list()
    {
        await _app.SubmitAsync();
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync(Referrals);
        await page.GetByLabel("Staff key").FillAsync("not-the-key");
        await page.GetByRole(AriaRole.Button, new() { Name = "Use this key" }).ClickAsync();
        await Expect(page.Locator("#key-error")).ToHaveTextAsync("This key was not accepted. Check it and enter it again.");
        await Expect(page.Locator("#content")).ToBeHiddenAsync();
        Assert.DoesNotContain(tab.Requests, r => r.PathAndQuery.StartsWith("/api/referrals?limit=50", StringComparison.Ordinal));
    }

    /// <summary>axe in light and dark over every state of /refer and /referrals, under a phone's viewport.</summary>
    [Theory]
    [InlineData(ColorScheme.Light)]
    [InlineData(ColorScheme.Dark)]
    public async Task Every_state_of_both_caseworker_pages_has_no_serious_or_critical_violations(ColorScheme scheme)
    {
        var failed = await _app.SubmitAsync();
        await _app.SubmitAsync(BrokerApp.Referral(partnerId: "demo-legal", category: "legal"));
        _app.Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await _app.SweepAsync();
        var delivered = await _app.SubmitAsync();
        await _app.DispatchAsync();
        Assert.Equal("delivered", await _app.OrganisationStatusAsync(delivered.ReferralId));

        await using var tab = await chromium.OpenAsync(new BrowserNewContextOptions
        {
            BypassCSP = true, ColorScheme = scheme, ViewportSize = new() { Width = 390, Height = 844 }, Locale = "en-GB",
        });
        var page = tab.Page;
        async Task CheckAsync(string state)
        {
            if (scheme == ColorScheme.Light)
            {
                await page.ScreenshotAsync(new() { Path = Pages.ScreenshotPath(state), FullPage = true });
            }

            await page.AddScriptTagAsync(new() { Path = Pages.AxeScript });
            await Axe.AssertNoSeriousViolationsAsync(page, $"{state} ({scheme})", output);
        }

        await page.GotoAsync(Pages.ReferPage(_app));
        await page.GetByLabel("Staff key").FillAsync("not-the-key");
        await page.GetByRole(AriaRole.Button, new() { Name = "Use this key" }).ClickAsync();
        await Expect(page.Locator("#key-error")).ToBeVisibleAsync();
        await CheckAsync("refer-key-refused");
        await page.GetByLabel("Staff key").FillAsync(BrokerApp.OrgKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Use this key" }).ClickAsync();
        await Expect(page.Locator("#script-warning")).ToBeVisibleAsync();
        await CheckAsync("refer-empty");
        await page.Locator("#client-language").SelectOptionAsync("th");
        await page.Locator("#field-firstName").FillAsync("Mai");
        await page.Locator("#field-needs").FillAsync("STI testing");
        await page.Locator("#share-firstName").UncheckAsync();
        await page.GetByLabel("Also make a safe code").CheckAsync();
        await Expect(page.Locator("#script-own")).ToBeVisibleAsync();
        await CheckAsync("refer-script-two-languages");
        await page.Locator("#share-needs").UncheckAsync();
        await page.Locator("#field-contact").FillAsync("x");
        await page.Locator("#share-contact").UncheckAsync();
        await page.Locator("#field-contactVia").SelectOptionAsync("client");
        await page.GetByLabel("I read the consent script").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Send the referral" }).ClickAsync();
        await Expect(page.Locator("#errors")).ToBeVisibleAsync();
        await CheckAsync("refer-errors");
        await page.Locator("#field-needs").FillAsync("STI testing");
        await page.Locator("#share-contactVia").UncheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Send the referral" }).ClickAsync();
        await Expect(page.Locator("#duress-done")).ToBeVisibleAsync();
        await CheckAsync("refer-card-with-safe-code");

        await page.GotoAsync(Referrals);
        await Expect(page.Locator("#rows tr")).ToHaveCountAsync(4);
        await CheckAsync("referrals-list");
        await page.Locator("#rows tr").Filter(new() { HasText = "Not delivered" }).First.GetByRole(AriaRole.Button, new() { Name = "Send again" }).ClickAsync();
        await page.Locator("#again-needs").FillAsync("STI testing");
        await page.Locator("#again-share-needs").UncheckAsync();
        await page.Locator("#again-consent").CheckAsync();
        await page.Locator("#resend-send").ClickAsync();
        await Expect(page.Locator("#resend-errors")).ToBeVisibleAsync();
        await CheckAsync("referrals-resend-errors");
        await page.Locator("#rows tr").First.GetByRole(AriaRole.Button, new() { Name = "Flag the partner" }).ClickAsync();
        await Expect(page.Locator("#flag")).ToBeVisibleAsync();
        await CheckAsync("referrals-flag");
        await page.Locator("#filter-status").SelectOptionAsync("completed");
        await page.GetByRole(AriaRole.Button, new() { Name = "Show", Exact = true }).ClickAsync();
        await Expect(page.Locator("#empty")).ToBeVisibleAsync();
        await CheckAsync("referrals-empty");
        await page.GetByRole(AriaRole.Button, new() { Name = "Forget the key" }).ClickAsync();
        await Expect(page.GetByLabel("Staff key")).ToBeVisibleAsync();
        await CheckAsync("referrals-key");
    }

    private async Task SignInAsync(IPage page)
    {
        await page.GotoAsync(Referrals);
        await page.GetByLabel("Staff key").FillAsync(BrokerApp.OrgKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Use this key" }).ClickAsync();
        await Expect(page.Locator("#content")).ToBeVisibleAsync();
    }

    /// <summary>The duress use is recorded off the request's path: waited for on the record, with a deadline.</summary>
    private static async Task WaitForDuressAsync(BrokerApp app)
    {
        var store = app.Services.GetRequiredService<IReferralStore>();
        var listed = await app.Organisation().GetFromJsonAsync<JsonElement>("/api/referrals");
        var referralId = Assert.Single(listed.GetProperty("items").EnumerateArray()).GetProperty("referralId").GetString()!;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await store.FindAsync(referralId, CancellationToken.None))!.Value.DuressUsedAt is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "The duress use was never recorded.");
            await Task.Delay(50);
        }
    }
}
