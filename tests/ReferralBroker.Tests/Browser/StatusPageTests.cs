using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using ReferralBroker.Tests.Integration;
using static Microsoft.Playwright.Assertions;

namespace ReferralBroker.Tests.Browser;

/// <summary>The client's status page in a real browser: her code, typed the way people type, and her withdrawal.</summary>
[Collection(BrowserCollection.Name)]
public sealed class StatusPageTests(Chromium chromium) : IDisposable
{
    private readonly BrokerApp _app = new(realServer: true);
    private readonly string _marker = $"PW{Guid.NewGuid():N}"[..14];

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task A_code_typed_in_lower_case_with_spaces_shows_the_status_and_what_is_held_and_withdrawing_stops_the_partner_link()
    {
        var (submitted, _) = await _app.SubmitAndDispatchAsync(BrokerApp.Referral(_marker));
        var typed = submitted.StatusToken.ToLowerInvariant().Replace('-', ' ');
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        var dialogs = new ConcurrentQueue<string>();
        var acceptDialogs = false;
        page.Dialog += async (_, dialog) =>
        {
            dialogs.Enqueue(dialog.Message);
            await (acceptDialogs ? dialog.AcceptAsync() : dialog.DismissAsync());
        };

        await page.GotoAsync(Pages.StatusPage(_app));
        await page.GetByLabel("Your code").PressSequentiallyAsync(typed);
        await page.GetByRole(AriaRole.Button, new() { Name = "Check" }).ClickAsync();

        await Expect(page.Locator("#status")).ToHaveTextAsync("The service has your referral and will decide soon");
        await Expect(page.Locator("#category")).ToHaveTextAsync("health");
        // Everything the broker holds, each with the date it goes, as the API lists it.
        var expected = (await _app.StatusAsync(submitted.StatusToken)).GetProperty("held").EnumerateArray()
            .Select(item => item.GetProperty("what").GetString()!).ToList();
        var held = page.Locator("#held li");
        await Expect(held).ToHaveCountAsync(expected.Count);
        var shown = await held.AllInnerTextsAsync();
        Assert.All(expected.Zip(shown), pair =>
        {
            Assert.StartsWith(pair.First, pair.Second, StringComparison.Ordinal);
            Assert.Matches(@" Deleted by .*\d{4}\.$", pair.Second);
        });
        Assert.Contains(shown, item => item.StartsWith("Your referral details", StringComparison.Ordinal));

        // Changing her mind at the confirmation leaves the referral alone.
        var stop = page.GetByRole(AriaRole.Button, new() { Name = "Stop my referral" });
        await stop.ClickAsync();
        Assert.Equal(["Stop this referral? This cannot be undone."], dialogs);
        await Expect(stop).ToBeVisibleAsync();
        Assert.Equal("delivered", await OrganisationStatusAsync(submitted.ReferralId));

        acceptDialogs = true;
        await stop.ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("Your referral is stopped.");
        await Expect(page.Locator("#status")).ToHaveTextAsync("Stopped by you");
        await Expect(stop).ToBeHiddenAsync();
        await Expect(held.Filter(new() { HasText = "Your referral details" })).ToHaveCountAsync(0);
        Assert.Equal(2, dialogs.Count);
        Assert.Equal("withdrawn", await OrganisationStatusAsync(submitted.ReferralId));

        // The partner's emailed link, opened now, has nothing left to show.
        var partner = await tab.NewPageAsync();
        await partner.GotoAsync(Pages.EmailedLink(_app, submitted.ReferralId));
        await Expect(partner.Locator("#sealed-gone")).ToBeVisibleAsync();
        await Expect(partner.Locator("#details")).ToBeEmptyAsync();
        Assert.DoesNotContain(_marker, await partner.ContentAsync(), StringComparison.Ordinal);

        // The code went only in POST bodies: in no URL, however it might be written there, and in no log line.
        Assert.Equal(2, tab.Requests.Count(r => r.Method == "POST" && r.Body?.Contains(typed, StringComparison.Ordinal) == true));
        var canonical = Squeezed(submitted.StatusToken);
        Assert.All(tab.Requests, r => Assert.DoesNotContain(canonical, Squeezed(Uri.UnescapeDataString(r.Url)), StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(_app.Logs, line => line.Contains(canonical, StringComparison.OrdinalIgnoreCase)
            || line.Contains(submitted.StatusToken, StringComparison.OrdinalIgnoreCase)
            || line.Contains(typed, StringComparison.OrdinalIgnoreCase));
        tab.AssertNoErrors();
    }

    private static string Squeezed(string text) =>
        text.Replace("-", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).Replace("+", "", StringComparison.Ordinal);

    private async Task<string?> OrganisationStatusAsync(string referralId) =>
        (await _app.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{referralId}")).GetProperty("status").GetString();
}
