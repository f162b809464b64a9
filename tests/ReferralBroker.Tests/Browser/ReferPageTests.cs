using Microsoft.Playwright;
using ReferralBroker.Referrals;
using ReferralBroker.Tests.Integration;
using static Microsoft.Playwright.Assertions;

namespace ReferralBroker.Tests.Browser;

/// <summary>The caseworker's intake page: the key checked when entered, fields that forgive, the consent script, a retry after a lost answer.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ReferPageTests(Chromium chromium) : IDisposable
{
    private const string KeyName = "referral-broker.staff-key";

    private readonly BrokerApp _app = new(realServer: true);

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task A_wrong_key_is_refused_before_the_form_opens_and_the_right_one_is_kept_in_session_storage_only_until_forgotten()
    {
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync(Pages.ReferPage(_app));
        await page.GetByLabel("Staff key").FillAsync("not-the-key");
        await page.GetByRole(AriaRole.Button, new() { Name = "Use this key" }).ClickAsync();

        await Expect(page.Locator("#key-error")).ToHaveTextAsync("This key was not accepted. Check it and enter it again.");
        await Expect(page.Locator("#refer-form")).ToBeHiddenAsync();
        await Expect(page.GetByLabel("Staff key")).ToBeVisibleAsync();
        Assert.Null(await page.EvaluateAsync<string?>($"sessionStorage.getItem('{KeyName}')"));
        Assert.DoesNotContain(tab.Requests, r => r.Method == "POST");

        await page.GetByLabel("Staff key").FillAsync(BrokerApp.OrgKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Use this key" }).ClickAsync();
        await Expect(page.Locator("#refer-form")).ToBeVisibleAsync();
        Assert.Equal(BrokerApp.OrgKey, await page.EvaluateAsync<string?>($"sessionStorage.getItem('{KeyName}')"));
        // Nowhere else: not in local storage, not in a cookie, not left in the form.
        Assert.Equal(0, await page.EvaluateAsync<int>("localStorage.length"));
        Assert.Empty(await tab.Context.CookiesAsync());
        Assert.Equal("", await page.EvaluateAsync<string>("document.getElementById('api-key').value"));

        // Asked once: a reload in the same tab checks it again and goes straight to the form.
        await page.ReloadAsync();
        await Expect(page.Locator("#refer-form")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Forget the key" }).ClickAsync();
        await Expect(page.GetByLabel("Staff key")).ToBeVisibleAsync();
        await Expect(page.Locator("#refer-form")).ToBeHiddenAsync();
        Assert.Null(await page.EvaluateAsync<string?>($"sessionStorage.getItem('{KeyName}')"));
        await _app.DispatchAsync();
        Assert.Empty(_app.Outbox());
        // The refused check is all Chromium complains about: no script error, no CSP refusal.
        Assert.All(tab.Errors, error => Assert.Contains("status of 401 (Unauthorized)", error, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Typing_in_a_field_ticks_its_box_and_unticking_clears_it_with_a_word_why_so_it_is_not_sent()
    {
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await SignInAsync(page);
        await page.Locator("#field-firstName").FillAsync("Ana");
        await Expect(page.Locator("#share-firstName")).ToBeCheckedAsync();
        await page.Locator("#field-needs").FillAsync("Advice on a work permit");
        await Expect(page.Locator("#share-needs")).ToBeCheckedAsync();
        await Expect(page.Locator("#script-fields li")).ToHaveCountAsync(2);

        await page.Locator("#share-firstName").UncheckAsync();
        await Expect(page.Locator("#field-firstName")).ToHaveValueAsync("");
        await Expect(page.Locator("#cleared-firstName")).ToContainTextAsync("First name was unticked");
        await Expect(page.Locator("#script-fields li")).ToHaveCountAsync(1);

        await page.Locator("#category").SelectOptionAsync("legal");
        await page.GetByLabel("I read the consent script").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Send the referral" }).ClickAsync();
        await Expect(page.Locator("#card")).ToBeVisibleAsync();
        var body = System.Text.Json.JsonDocument.Parse(tab.Requests.Single(r => r.Method == "POST" && r.PathAndQuery == "/api/referrals").Body!).RootElement;
        Assert.Equal(["needs"], body.GetProperty("consent").GetProperty("sharedFields").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal("{\"needs\":\"Advice on a work permit\"}", body.GetProperty("client").GetRawText());
        // Sent: what was typed with the person does not stay behind in the hidden form or its script.
        await Expect(page.Locator("#field-needs")).ToHaveValueAsync("");
        await Expect(page.Locator("#script-fields")).Not.ToContainTextAsync("Advice on a work permit");
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task The_consent_script_names_the_partner_and_lists_what_is_sent_in_the_persons_language_beside_the_caseworkers()
    {
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await SignInAsync(page);
        await Expect(page.Locator("#script-warning")).ToContainTextAsync("Nothing will be sent yet");
        await Expect(page.Locator("#script-fields")).ToBeHiddenAsync();

        await page.Locator("#client-language").SelectOptionAsync("es");
        await page.Locator("#category").SelectOptionAsync("legal");
        await page.Locator("#field-firstName").FillAsync("Ana");
        await page.Locator("#field-needs").FillAsync("Permiso de trabajo");
        await Expect(page.Locator("#script-warning")).ToBeHiddenAsync();

        await Expect(page.Locator("#script")).ToHaveAttributeAsync("lang", "es");
        await Expect(page.Locator("#script-partner")).ToContainTextAsync("Demo migrant legal aid");
        await Expect(page.Locator("#script-fields li")).ToHaveTextAsync(["su nombre, o el nombre que quiera usar: Ana", "en qué necesita ayuda: Permiso de trabajo"]);
        await Expect(page.Locator("#script-own")).ToBeVisibleAsync();
        await Expect(page.Locator("#script-own")).ToHaveAttributeAsync("lang", "en");
        await Expect(page.Locator("#own-partner")).ToContainTextAsync("Demo migrant legal aid");
        await Expect(page.Locator("#own-fields li")).ToHaveTextAsync(["your first name, or the name you want to use: Ana", "what you need help with: Permiso de trabajo"]);

        // Partners by name, their languages by name, and what the directory says about safety.
        await Expect(page.Locator("#partner option")).ToHaveCountAsync(1);
        await Expect(page.Locator("#partner option")).ToContainTextAsync("Demo migrant legal aid (speaks English, ");
        await Expect(page.Locator("#partner-details")).ToContainTextAsync("Shares nothing with police or immigration unless the law compels it");
        await Expect(page.Locator("#partner-details")).ToContainTextAsync("Taking new referrals");
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task A_partners_hours_and_area_from_the_directory_are_shown_and_a_custom_category_is_offered_in_words()
    {
        using var app = new BrokerApp(realServer: true, settings: new Dictionary<string, string?> { ["Broker:Admin:CoordinatorKeySha256"] = ApiKeys.Hash(Coordinator.Key) });
        Assert.True((await Coordinator.PutPartnerAsync(app, Coordinator.Service("night-clinic", categories: ["health"]))).IsSuccessStatusCode);
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync(Pages.ReferPage(app));
        await page.GetByLabel("Staff key").FillAsync(BrokerApp.OrgKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Use this key" }).ClickAsync();
        await page.Locator("#category").SelectOptionAsync("health");
        await page.Locator("#partner").SelectOptionAsync("night-clinic");
        await Expect(page.Locator("#category option:checked")).ToHaveTextAsync("Health");
        var details = page.Locator("#partner-details");
        await Expect(details).ToContainTextAsync("Mon-Fri 10:00-18:00");
        await Expect(details).ToContainTextAsync("Bangkok, Pattaya, Chonburi");
        await Expect(details).ToContainTextAsync("Provider of night-clinic");
        await Expect(details).ToContainTextAsync("No ID needed");
        await Expect(page.Locator("#script-partner")).ToContainTextAsync("Service night-clinic");
    }

    private async Task SignInAsync(IPage page)
    {
        await page.GotoAsync(Pages.ReferPage(_app));
        await page.GetByLabel("Staff key").FillAsync(BrokerApp.OrgKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Use this key" }).ClickAsync();
        await Expect(page.Locator("#refer-form")).ToBeVisibleAsync();
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
        await page.GetByLabel("Staff key").FillAsync(BrokerApp.OrgKey);
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
