using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using ReferralBroker.Tests.Integration;
using static Microsoft.Playwright.Assertions;

namespace ReferralBroker.Tests.Browser;

/// <summary>
/// The partner page in a real browser, against the broker on a real socket: WebCrypto derives the capability and
/// the key from the link secret S in the fragment, and the details are opened in the page, never on the broker.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class PartnerPageTests(Chromium chromium) : IDisposable
{
    private readonly BrokerApp _app = new(realServer: true);
    private readonly string _marker = $"PW{Guid.NewGuid():N}"[..14];

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task The_emailed_link_opens_the_details_in_the_browser_accept_works_and_the_link_secret_never_reaches_the_server()
    {
        var (submitted, link) = await _app.SubmitAndDispatchAsync(BrokerApp.Referral(_marker));
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;

        await page.GotoAsync(Pages.EmailedLink(_app, submitted.ReferralId));

        var details = page.Locator("#details");
        await Expect(details).ToContainTextAsync($"Mai{_marker}");
        await Expect(details).ToContainTextAsync($"Signal +66 80 000 0000 {_marker}");
        await Expect(details).ToContainTextAsync($"STI testing; prefers a woman doctor {_marker}");
        await Expect(details).ToContainTextAsync("the person directly");
        await Expect(page.Locator("#status")).ToHaveTextAsync("New");
        await Expect(page.Locator("#category")).ToHaveTextAsync("Health");
        await Expect(details).ToContainTextAsync("Thai");
        // Consent ends a month after the fake clock's start; the details go then unless accepted.
        await Expect(page.Locator("#keep-notice")).ToHaveTextAsync("Save these details in your own records now: this page stops working on 23 December 2026.");
        // Opening the link, as an email scanner would, changed nothing.
        Assert.Equal("delivered", (await OrganisationViewAsync(submitted.ReferralId)).GetProperty("status").GetString());

        await page.GetByRole(AriaRole.Button, new() { Name = "Accept", Exact = true }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, accept" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("Saved. The referral is now: Accepted.");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Mark in progress" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Could not contact" })).ToBeVisibleAsync();
        // The lifecycle goes accepted → in progress → completed: "completed" is not offered yet.
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Mark completed" })).ToBeHiddenAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Accept", Exact = true })).ToBeHiddenAsync();
        Assert.Equal("accepted", (await OrganisationViewAsync(submitted.ReferralId)).GetProperty("status").GetString());

        // The page read and acted with the capability it derived from S, and nothing else went to the API.
        var api = tab.Requests.Where(r => r.PathAndQuery.StartsWith("/api/", StringComparison.Ordinal)).ToList();
        Assert.Equal(
            [$"GET /api/partner/referrals/{link.ReferralId}", $"POST /api/partner/referrals/{link.ReferralId}/accept"],
            api.Select(r => $"{r.Method} {r.PathAndQuery}"));
        Assert.All(api, r => Assert.Equal(link.Capability, r.Headers["x-referral-capability"]));

        // S was taken out of the address bar, and was in no path, query, header or body that left the browser...
        Assert.Equal("", new Uri(page.Url).Fragment);
        Assert.Single(tab.Requests, r => r.PathAndQuery == $"/partner/{link.ReferralId}");
        Assert.All(tab.Requests, r =>
        {
            Assert.DoesNotContain(link.Secret, r.PathAndQuery, StringComparison.Ordinal);
            Assert.DoesNotContain(r.Headers.Values, value => value.Contains(link.Secret, StringComparison.Ordinal));
            Assert.DoesNotContain(link.Secret, r.Body ?? "", StringComparison.Ordinal);
        });

        // ...and the server's own record of the requests it served (the logs name every path) has no S either.
        Assert.Contains(_app.Logs, line => line.Contains($"/api/partner/referrals/{link.ReferralId}/accept", StringComparison.Ordinal));
        Assert.DoesNotContain(_app.Logs, line => line.Contains(link.Secret, StringComparison.Ordinal));
        tab.AssertNoErrors();
    }

    /// <summary>
    /// The link secret lives in the tab's sessionStorage once the link opened, so a reload and the language picker
    /// (links without the fragment) still open the referral; "forget" clears it, and nothing of it leaves the browser.
    /// </summary>
    [Fact]
    public async Task The_page_survives_a_reload_and_a_change_of_language_until_the_partner_forgets_the_referral()
    {
        var (submitted, link) = await _app.SubmitAndDispatchAsync(BrokerApp.Referral(_marker));
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync(Pages.EmailedLink(_app, submitted.ReferralId));
        await Expect(page.Locator("#details")).ToContainTextAsync($"Mai{_marker}");
        Assert.Equal("", new Uri(page.Url).Fragment);

        await page.ReloadAsync();
        await Expect(page.Locator("#details")).ToContainTextAsync($"Mai{_marker}");
        await Expect(page.Locator("#status")).ToHaveTextAsync("New");

        // The picker's links carry no fragment: the tab's memory keeps the referral open, now in Thai.
        await page.GetByRole(AriaRole.Link, new() { Name = "ไทย" }).ClickAsync();
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "th");
        await Expect(page.Locator("#details")).ToContainTextAsync($"Mai{_marker}");
        await Expect(page.Locator("#category")).ToHaveTextAsync("สุขภาพ");

        // Kept only in this tab's sessionStorage, under the referral's id: no localStorage, no cookie.
        var storage = await page.EvaluateAsync<Dictionary<string, string>>(
            "() => Object.fromEntries(Object.keys(sessionStorage).map((k) => [k, sessionStorage.getItem(k)]))");
        Assert.Equal(new Dictionary<string, string> { [$"referral-broker.partner-link.{submitted.ReferralId}"] = link.Secret }, storage);
        Assert.Equal(0, await page.EvaluateAsync<int>("() => localStorage.length"));
        Assert.Empty(await tab.Context.CookiesAsync());

        // Another tab of the same browser does not have it: sessionStorage is the tab's own.
        var other = await tab.NewPageAsync();
        await other.GotoAsync(Pages.PartnerPage(_app, submitted.ReferralId, null));
        await Expect(other.Locator("#message")).ToContainTextAsync("This link is incomplete");
        await other.CloseAsync();

        await page.GotoAsync(Pages.PartnerPage(_app, submitted.ReferralId, null) + "?lang=en");
        await page.GetByRole(AriaRole.Button, new() { Name = "Forget this referral on this device" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("This device no longer holds the link. To open the referral again, use the link in the email.");
        await Expect(page.Locator("#referral")).ToBeHiddenAsync();
        await Expect(page.Locator("#details")).ToBeEmptyAsync();
        Assert.Equal(0, await page.EvaluateAsync<int>("() => sessionStorage.length"));
        await page.ReloadAsync();
        await Expect(page.Locator("#message")).ToContainTextAsync("This link is incomplete");
        Assert.DoesNotContain(_marker, await page.ContentAsync(), StringComparison.Ordinal);

        Assert.All(tab.Requests, r =>
        {
            Assert.DoesNotContain(link.Secret, r.PathAndQuery, StringComparison.Ordinal);
            Assert.DoesNotContain(r.Headers.Values, value => value.Contains(link.Secret, StringComparison.Ordinal));
            Assert.DoesNotContain(link.Secret, r.Body ?? "", StringComparison.Ordinal);
        });
        Assert.DoesNotContain(_app.Logs, line => line.Contains(link.Secret, StringComparison.Ordinal));
        Assert.Equal("delivered", await _app.OrganisationStatusAsync(submitted.ReferralId));
        tab.AssertNoErrors();
    }

    /// <summary>A busy broker (429) on a reload is not a bad link: the tab keeps it, and the next reload opens the referral.</summary>
    [Fact]
    public async Task A_busy_broker_on_reload_says_to_try_again_and_keeps_the_remembered_link()
    {
        var (submitted, _) = await _app.SubmitAndDispatchAsync(BrokerApp.Referral(_marker));
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync(Pages.EmailedLink(_app, submitted.ReferralId));
        await Expect(page.Locator("#details")).ToContainTextAsync($"Mai{_marker}");

        await page.RouteAsync("**/api/partner/referrals/*", route => route.FulfillAsync(new()
        {
            Status = 429,
            ContentType = "application/problem+json",
            Body = """{"title":"Too many requests","status":429}""",
        }));
        await page.ReloadAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("The referral could not be loaded just now. Reload the page in a minute.");
        await Expect(page.Locator("#referral")).ToBeHiddenAsync();
        Assert.Equal(1, await page.EvaluateAsync<int>("() => sessionStorage.length"));

        await page.UnrouteAllAsync();
        await page.ReloadAsync();
        await Expect(page.Locator("#details")).ToContainTextAsync($"Mai{_marker}");
    }

    [Fact]
    public async Task Accepting_asks_first_and_going_back_changes_nothing()
    {
        var (submitted, _) = await _app.SubmitAndDispatchAsync(BrokerApp.Referral(_marker));
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync(Pages.EmailedLink(_app, submitted.ReferralId));
        var accept = page.GetByRole(AriaRole.Button, new() { Name = "Accept", Exact = true });

        await accept.ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Accept this referral?" })).ToBeFocusedAsync();
        await Expect(page.Locator("#confirm-accept")).ToContainTextAsync("The person and the referring organisation will see that you accepted.");
        await Expect(page.Locator("#confirm-accept")).ToContainTextAsync("This cannot be undone.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Go back" }).ClickAsync();
        await Expect(accept).ToBeFocusedAsync();
        await Expect(page.Locator("#confirm-accept")).ToBeHiddenAsync();
        Assert.Equal("delivered", await _app.OrganisationStatusAsync(submitted.ReferralId));
        Assert.DoesNotContain(tab.Requests, r => r.Method == "POST");

        await accept.ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, accept" }).ClickAsync();
        await Expect(page.Locator("#status")).ToHaveTextAsync("Accepted");
        await Expect(page.Locator("#state")).ToHaveTextAsync("You accepted this referral.");
        Assert.Equal("accepted", await _app.OrganisationStatusAsync(submitted.ReferralId));
        tab.AssertNoErrors();
    }

    /// <summary>
    /// The referring organisation as its partner-contact setting has it: named with its contact route, named without
    /// one, or unnamed; "contact through the referring organisation" then names it too, so the partner can follow it.
    /// </summary>
    [Theory]
    [InlineData(true, "Call our drop-in, +66 2 123 4567, Mon–Fri 10–18", "Sisters Drop-in", "Call our drop-in, +66 2 123 4567, Mon–Fri 10–18", "the referring organisation: Sisters Drop-in")]
    [InlineData(true, null, "Sisters Drop-in", "Not given here. The network coordinator can put you in touch.", "the referring organisation: Sisters Drop-in")]
    [InlineData(false, "Call our drop-in, +66 2 123 4567, Mon–Fri 10–18", "The referring organisation chose not to be named.", "Call our drop-in, +66 2 123 4567, Mon–Fri 10–18", "the referring organisation")]
    public async Task The_referring_organisation_is_shown_as_its_settings_say(bool named, string? contact, string referrer, string route, string via)
    {
        using var app = new BrokerApp(realServer: true, settings: new Dictionary<string, string?> { ["Broker:Admin:CoordinatorKeySha256"] = ReferralBroker.Referrals.ApiKeys.Hash(Coordinator.Key) });
        var setting = new System.Text.Json.Nodes.JsonObject
        {
            ["name"] = "Sisters Drop-in",
            ["partnerContact"] = new System.Text.Json.Nodes.JsonObject { ["named"] = named, ["contact"] = contact },
        };
        var saved = await Coordinator.Client(app).PutAsJsonAsync("/api/admin/organisations/demo-org", setting);
        Assert.Equal(System.Net.HttpStatusCode.OK, saved.StatusCode);
        var body = System.Text.Json.Nodes.JsonNode.Parse(BrokerApp.Referral(_marker).GetRawText())!;
        body["client"]!["contactVia"] = "referrer";
        var (submitted, _) = await app.SubmitAndDispatchAsync(JsonSerializer.SerializeToElement(body));
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;

        await page.GotoAsync(Pages.EmailedLink(app, submitted.ReferralId));

        await Expect(page.Locator("#referrer")).ToHaveTextAsync(referrer);
        await Expect(page.Locator("#referrer-contact")).ToHaveTextAsync(route);
        await Expect(page.Locator("#details dd").Nth(2)).ToHaveTextAsync(via);
        if (!named)
        {
            Assert.DoesNotContain("Sisters", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        }

        tab.AssertNoErrors();
    }

    /// <summary>Until the broker says who referred (an older broker), the page shows no row rather than a guess.</summary>
    [Fact]
    public async Task Without_a_referrer_in_the_view_the_page_shows_no_referrer_row()
    {
        var (submitted, _) = await _app.SubmitAndDispatchAsync(BrokerApp.Referral(_marker));
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.RouteAsync("**/api/partner/referrals/*", async route =>
        {
            var response = await route.FetchAsync();
            var body = System.Text.Json.Nodes.JsonNode.Parse(await response.TextAsync())!.AsObject();
            body.Remove("referrer");
            await route.FulfillAsync(new() { Response = response, Body = body.ToJsonString() });
        });
        await page.GotoAsync(Pages.EmailedLink(_app, submitted.ReferralId));
        await Expect(page.Locator("#details")).ToContainTextAsync($"Mai{_marker}");
        await Expect(page.Locator("#referrer")).ToBeHiddenAsync();
        await Expect(page.Locator("#referrer-contact")).ToBeHiddenAsync();
        tab.AssertNoErrors();
    }

    [Theory]
    [InlineData("missing", "This link is incomplete")]
    [InlineData("empty", "This link is incomplete")]
    [InlineData("cut short", "This link is incomplete")]
    [InlineData("one character changed", "could not be opened")]
    [InlineData("not base64url", "could not be opened")]
    [InlineData("another referral's", "could not be opened")]
    public async Task A_damaged_link_says_so_and_shows_nothing_of_the_client(string damage, string message)
    {
        var submitted = await _app.SubmitAsync(BrokerApp.Referral(_marker));
        var other = await _app.SubmitAsync(BrokerApp.Referral("other"));
        await _app.DispatchAsync();
        var secret = _app.LinkFor(submitted.ReferralId).Secret;
        var fragment = damage switch
        {
            "missing" => null,
            "empty" => "",
            "cut short" => secret[..^6],
            "one character changed" => secret[..10] + (secret[10] == 'A' ? 'B' : 'A') + secret[11..],
            "not base64url" => secret[..20] + "*!*" + secret[23..],
            "another referral's" => _app.LinkFor(other.ReferralId).Secret,
            _ => throw new ArgumentOutOfRangeException(nameof(damage)),
        };
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;

        await page.GotoAsync(Pages.PartnerPage(_app, submitted.ReferralId, fragment));

        await Expect(page.Locator("#message")).ToContainTextAsync(message);
        await Expect(page.Locator("#referral")).ToBeHiddenAsync();
        await Expect(page.Locator("#details")).ToBeEmptyAsync();
        Assert.DoesNotContain(_marker, await page.ContentAsync(), StringComparison.Ordinal);
        Assert.Equal("delivered", (await OrganisationViewAsync(submitted.ReferralId)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task After_the_client_withdraws_the_same_link_shows_no_details()
    {
        var (submitted, _) = await _app.SubmitAndDispatchAsync(BrokerApp.Referral(_marker));
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync(Pages.EmailedLink(_app, submitted.ReferralId));
        await Expect(page.Locator("#details")).ToContainTextAsync($"Mai{_marker}");

        await _app.StatusAsync(submitted.StatusToken, "/api/status/withdraw");
        // A reload would find no secret: the page took it out of the address bar. The email's link is the way back.
        await page.GotoAsync(Pages.EmailedLink(_app, submitted.ReferralId));

        await Expect(page.Locator("#status")).ToHaveTextAsync("Withdrawn by the person");
        await Expect(page.Locator("#sealed-gone")).ToBeVisibleAsync();
        await Expect(page.Locator("#details")).ToBeEmptyAsync();
        await Expect(page.Locator("#decide")).ToBeHiddenAsync();
        await Expect(page.Locator("#progress")).ToBeHiddenAsync();
        await Expect(page.Locator("#state")).ToHaveTextAsync("The person withdrew this referral. It has ended: do not contact them about it.");
        await Expect(page.Locator("#keep-notice")).ToBeHiddenAsync();
        Assert.DoesNotContain(_marker, await page.ContentAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not-eligible", "Not eligible for our service")]
    [InlineData("cannot-contact", "We cannot make contact this way")]
    public async Task Declining_with_a_chosen_reason_records_that_reason(string reason, string label)
    {
        var (submitted, _) = await _app.SubmitAndDispatchAsync(BrokerApp.Referral(_marker));
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync(Pages.EmailedLink(_app, submitted.ReferralId));
        await Expect(page.Locator("#details")).ToContainTextAsync($"Mai{_marker}");

        await page.GetByLabel("Reason for declining").SelectOptionAsync(new SelectOptionValue { Label = label });
        await page.GetByRole(AriaRole.Button, new() { Name = "Decline", Exact = true }).ClickAsync();
        // The confirmation says what declining does, with the reason chosen, and changes nothing yet.
        await Expect(page.Locator("#confirm-decline")).ToContainTextAsync($"The referral ends with the reason “{label}”.");
        await Expect(page.Locator("#confirm-decline")).ToContainTextAsync("This cannot be undone.");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Decline this referral?" })).ToBeFocusedAsync();
        await Expect(page.Locator("#decide")).ToBeHiddenAsync();
        Assert.Equal("delivered", (await OrganisationViewAsync(submitted.ReferralId)).GetProperty("status").GetString());
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, decline" }).ClickAsync();

        await Expect(page.Locator("#message")).ToHaveTextAsync("Saved. The referral is now: Declined.");
        // Declining destroys the sealed details; the page says so and drops what it had shown.
        await Expect(page.Locator("#sealed-gone")).ToBeVisibleAsync();
        await Expect(page.Locator("#details")).ToBeEmptyAsync();
        var view = await OrganisationViewAsync(submitted.ReferralId);
        Assert.Equal("declined", view.GetProperty("status").GetString());
        Assert.Equal(reason, view.GetProperty("declineReason").GetString());
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task Progress_follows_the_lifecycle_to_completed_and_then_shows_the_state_instead_of_buttons()
    {
        var (submitted, _) = await _app.SubmitAndDispatchAsync(BrokerApp.Referral(_marker));
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync(Pages.EmailedLink(_app, submitted.ReferralId));
        await page.GetByRole(AriaRole.Button, new() { Name = "Accept", Exact = true }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, accept" }).ClickAsync();

        await page.GetByRole(AriaRole.Button, new() { Name = "Mark in progress" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("Saved. The referral is now: In progress.");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Mark in progress" })).ToBeHiddenAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Mark completed" }).ClickAsync();

        await Expect(page.Locator("#message")).ToHaveTextAsync("Saved. The referral is now: Completed.");
        await Expect(page.Locator("#state")).ToHaveTextAsync("You marked this referral completed. It has ended.");
        await Expect(page.Locator("#progress")).ToBeHiddenAsync();
        await Expect(page.Locator("#decide")).ToBeHiddenAsync();
        Assert.Equal("completed", await _app.OrganisationStatusAsync(submitted.ReferralId));
        // Completed is not a decline: the details stay readable until their deletion date, which the page gives.
        await Expect(page.Locator("#keep-notice")).ToContainTextAsync("this page stops working on 7 December 2026");
        tab.AssertNoErrors();
    }

    private Task<JsonElement> OrganisationViewAsync(string referralId) =>
        _app.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{referralId}");
}
