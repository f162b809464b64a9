using Microsoft.Playwright;
using ReferralBroker.Tests.Integration;
using static Microsoft.Playwright.Assertions;

namespace ReferralBroker.Tests.Browser;

/// <summary>The client's status page in a real browser: by keyboard alone, and its quick exit with and without JavaScript.</summary>
[Collection(BrowserCollection.Name)]
public sealed class StatusPageTests(Chromium chromium) : IDisposable
{
    private const string ExitUrl = "https://exit.test/weather";

    private readonly BrokerApp _app = new(realServer: true, settings: new Dictionary<string, string?> { ["Broker:QuickExitUrl"] = ExitUrl });

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task The_status_page_can_be_used_with_the_keyboard_alone_from_checking_to_withdrawing()
    {
        var (submitted, _) = await _app.SubmitAndDispatchAsync();
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync(Pages.StatusPage(_app) + "?lang=en");

        // The quick exit is the very first stop: one Tab and Enter away from leaving.
        await page.Keyboard.PressAsync("Tab");
        await Expect(page.Locator("#quick-exit")).ToBeFocusedAsync();

        await TabToAsync(page, page.GetByLabel("Your code"));
        await page.Keyboard.TypeAsync(submitted.StatusToken.ToLowerInvariant());
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#status")).ToHaveTextAsync("The service has received your referral.");

        await TabToAsync(page, page.GetByRole(AriaRole.Button, new() { Name = "Stop my referral" }));
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Stop this referral?" })).ToBeVisibleAsync();

        await TabToAsync(page, page.GetByRole(AriaRole.Button, new() { Name = "Yes, stop my referral" }));
        await page.Keyboard.PressAsync("Space");
        await Expect(page.Locator("#status")).ToHaveTextAsync("Stopped by you.");
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Your referral is stopped.");
        tab.AssertNoErrors();
    }

    /// <summary>
    /// On a small phone (360 × 640, JavaScript off) the status and the withdraw button are on the first screen, the
    /// partner and organisation are named, and what is held is folded below. Hindi and Korean run longest of the scripts
    /// whose glyphs are tallest; English is the reference.
    /// </summary>
    [Theory]
    [InlineData("en", "Stop my referral", "Demo community clinic")]
    [InlineData("hi", "मेरा रेफ़रल रोकें", "Demo community clinic")]
    [InlineData("mr", "माझा रेफरल थांबवा", "Demo community clinic")]
    [InlineData("ko", "연계 의뢰 중단하기", "Demo community clinic")]
    public async Task On_a_360_pixel_phone_the_status_and_the_withdraw_button_are_on_the_first_screen(string lang, string withdraw, string partnerName)
    {
        var (submitted, _) = await _app.SubmitAndDispatchAsync();
        await using var tab = await chromium.OpenAsync(new() { JavaScriptEnabled = false, ViewportSize = new() { Width = 360, Height = 640 }, IsMobile = true });
        var page = tab.Page;
        await page.GotoAsync(Pages.StatusPage(_app) + $"?lang={lang}");
        await page.Locator("#token").FillAsync(submitted.StatusToken);
        await page.Locator("#token").PressAsync("Enter");
        await Expect(page.Locator("#status")).ToBeVisibleAsync();

        foreach (var target in new[] { page.Locator("#status"), page.GetByRole(AriaRole.Button, new() { Name = withdraw }) })
        {
            var box = await target.BoundingBoxAsync();
            Assert.NotNull(box);
            Assert.True(box.Y + box.Height <= 640, $"{target} ends at {box.Y + box.Height} px, below the first screen of 640 px");
        }

        await page.ScreenshotAsync(new() { Path = Pages.ScreenshotPath($"status-result-360-{lang}") });
        Assert.Equal(0, await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth"));
        await Expect(page.Locator("#partner")).ToHaveTextAsync(partnerName);
        await Expect(page.Locator("#organisation")).ToHaveTextAsync("Demo outreach organisation");
        await Expect(page.Locator("#held")).ToBeHiddenAsync();
        await page.Locator("#held-facts summary").ClickAsync();
        await Expect(page.Locator("#held")).ToBeVisibleAsync();
        await Expect(page.Locator("#held")).ToContainTextAsync(partnerName);
        Assert.DoesNotContain("demo-health", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain("demo-org", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Quick_exit_replaces_the_page_so_Back_does_not_return_to_it()
    {
        await using var tab = await chromium.OpenAsync();
        await tab.Context.RouteAsync(ExitUrl, route => route.FulfillAsync(new() { ContentType = "text/html", Body = "<title>Weather</title>" }));
        var page = tab.Page;
        await page.GotoAsync("about:blank");
        await page.GotoAsync(Pages.StatusPage(_app) + "?lang=en");

        await page.GetByRole(AriaRole.Link, new() { Name = "Quick exit" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(ExitUrl);

        // location.replace: the status page is no longer in this tab's history, the page before it still is.
        await page.GoBackAsync();
        Assert.Equal("about:blank", page.Url);
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task Quick_exit_is_a_plain_link_without_JavaScript()
    {
        await using var tab = await chromium.OpenAsync(new() { JavaScriptEnabled = false });
        await tab.Context.RouteAsync(ExitUrl, route => route.FulfillAsync(new() { ContentType = "text/html", Body = "<title>Weather</title>" }));
        var page = tab.Page;
        await page.GotoAsync(Pages.StatusPage(_app) + "?lang=th");

        await page.GetByRole(AriaRole.Link, new() { Name = "ออกจากหน้านี้ทันที" }).ClickAsync();

        await Expect(page).ToHaveURLAsync(ExitUrl);
        // No Referer told the neutral site where the client came from.
        Assert.DoesNotContain("referer", tab.Requests.Single(r => r.Url == ExitUrl).Headers.Keys);
    }

    /// <summary>Presses Tab until <paramref name="target"/> has the focus, as a keyboard user would.</summary>
    private static async Task TabToAsync(IPage page, ILocator target)
    {
        for (var presses = 0; presses < 30; presses++)
        {
            if (await target.EvaluateAsync<bool>("element => element === document.activeElement"))
            {
                return;
            }

            await page.Keyboard.PressAsync("Tab");
        }

        Assert.Fail($"{target} cannot be reached with the Tab key.");
    }
}
