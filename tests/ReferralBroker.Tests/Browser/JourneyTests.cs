using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using ReferralBroker.Tests.Integration;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace ReferralBroker.Tests.Browser;

/// <summary>
/// The whole loop as the three people live it, each in their own browser: the caseworker refers on /refer, the
/// partner opens the emailed link and accepts, the client checks in Thai on a 360 px phone with JavaScript off and
/// withdraws, and the partner's page then shows the referral withdrawn.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class JourneyTests(Chromium chromium, ITestOutputHelper output) : IDisposable
{
    private const int MaxPageBytes = 30 * 1024;

    private readonly BrokerApp _app = new(realServer: true);
    private readonly string _marker = $"PW{Guid.NewGuid():N}"[..14];

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Caseworker_refers_partner_accepts_client_checks_in_Thai_without_JavaScript_and_withdraws()
    {
        // 1. The caseworker, at the drop-in centre.
        await using var caseworker = await chromium.OpenAsync();
        var refer = caseworker.Page;
        await refer.GotoAsync(Pages.ReferPage(_app));
        await refer.GetByLabel("Staff key").FillAsync(BrokerApp.OrgKey);
        await refer.GetByRole(AriaRole.Button, new() { Name = "Use this key" }).ClickAsync();
        await refer.Locator("#client-language").SelectOptionAsync("th");
        foreach (var field in new[] { "firstName", "contact", "contactVia", "needs" })
        {
            await refer.Locator($"#share-{field}").CheckAsync();
        }

        await refer.Locator("#field-firstName").FillAsync($"Mai{_marker}");
        await refer.Locator("#field-contact").FillAsync($"Signal +66 80 000 0000 {_marker}");
        await refer.Locator("#field-contactVia").SelectOptionAsync("client");
        await refer.Locator("#field-needs").FillAsync($"STI testing; prefers a woman doctor {_marker}");
        // The language is filled in, but not ticked: it must not be sent.
        await Expect(refer.Locator("#field-language")).ToHaveValueAsync("th");
        await Expect(refer.Locator("#script-fields li")).ToHaveCountAsync(4);
        await Expect(refer.Locator("#script")).ToContainTextAsync("คุณตกลงให้เราส่งข้อมูลเหล่านี้หรือไม่");
        await refer.Locator("#category").SelectOptionAsync("health");
        await Expect(refer.Locator("#partner")).ToHaveValueAsync("demo-health");
        await refer.GetByLabel("I read the consent script").CheckAsync();
        await refer.GetByRole(AriaRole.Button, new() { Name = "Send the referral" }).ClickAsync();

        await Expect(refer.Locator("#token")).ToHaveTextAsync(TokenPattern());
        var token = (await refer.Locator("#token").TextContentAsync())!;
        await Expect(refer.Locator("#card")).ToHaveAttributeAsync("lang", "th");
        await Expect(refer.Locator("#card")).ToContainTextAsync("รหัสการส่งต่อของคุณ");
        await Expect(refer.Locator("#card")).ToContainTextAsync(token);
        await Expect(refer.Locator("#card")).ToContainTextAsync("https://broker.test/status?lang=th");
        // Printed, the page is only the card.
        await refer.EmulateMediaAsync(new() { Media = Media.Print });
        await Expect(refer.Locator("#card")).ToBeVisibleAsync();
        await Expect(refer.GetByRole(AriaRole.Heading, new() { Name = "New referral" })).ToBeHiddenAsync();
        await Expect(refer.Locator("#type-back")).ToBeHiddenAsync();
        await refer.EmulateMediaAsync(new() { Media = Media.Screen });
        await refer.GetByLabel("Check: ask the person to read the code back").FillAsync(token.ToLowerInvariant().Replace('-', ' '));
        await Expect(refer.Locator("#type-back-result")).ToHaveTextAsync("It matches: the code is safe on the card.");

        var sent = Assert.Single(caseworker.Requests, r => r.Method == "POST" && r.PathAndQuery == "/api/referrals");
        var body = JsonDocument.Parse(sent.Body!).RootElement;
        string[] ticked = ["firstName", "contact", "contactVia", "needs"];
        Assert.Equal(ticked, body.GetProperty("consent").GetProperty("sharedFields").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(ticked, body.GetProperty("client").EnumerateObject().Select(p => p.Name));
        Assert.True(Guid.TryParse(sent.Headers["idempotency-key"], out _), "The submission carried no UUID Idempotency-Key.");
        Assert.Equal($"Bearer {BrokerApp.OrgKey}", sent.Headers["authorization"]);
        caseworker.AssertNoErrors();

        // 2. The partner opens the emailed link and accepts.
        await _app.DispatchAsync();
        var (referralId, link) = Pages.OnlyEmailedLink(_app);
        await using var partner = await chromium.OpenAsync();
        await partner.Page.GotoAsync(link);
        var details = partner.Page.Locator("#details");
        await Expect(details).ToContainTextAsync($"Mai{_marker}");
        await Expect(details).ToContainTextAsync($"STI testing; prefers a woman doctor {_marker}");
        await Expect(details).Not.ToContainTextAsync("Language");
        Assert.Equal("delivered", await _app.OrganisationStatusAsync(referralId));
        await partner.Page.GetByRole(AriaRole.Button, new() { Name = "Accept", Exact = true }).ClickAsync();
        await partner.Page.GetByRole(AriaRole.Button, new() { Name = "Yes, accept" }).ClickAsync();
        await Expect(partner.Page.Locator("#message")).ToHaveTextAsync("Saved. The referral is now: Accepted.");

        // 3. The client, on a small phone with JavaScript off, in Thai (her browser asks for it).
        await using var client = await chromium.OpenAsync(new()
        {
            JavaScriptEnabled = false,
            ViewportSize = new() { Width = 360, Height = 740 },
            Locale = "th-TH",
        });
        var status = client.Page;
        await status.GotoAsync(Pages.StatusPage(_app));
        await Expect(status.Locator("html")).ToHaveAttributeAsync("lang", "th");
        await status.GetByLabel("รหัสของคุณ").FillAsync(token);
        await status.GetByRole(AriaRole.Button, new() { Name = "ตรวจสอบ", Exact = true }).ClickAsync();
        await Expect(status.Locator("#status")).ToHaveTextAsync("รับแล้ว หน่วยบริการช่วยคุณได้");
        await Expect(status.Locator("#held li")).ToHaveCountAsync(4);
        await AssertFitsAsync(status, 360);

        await status.GetByRole(AriaRole.Button, new() { Name = "ยกเลิกการส่งต่อของฉัน" }).ClickAsync();
        await Expect(status.GetByRole(AriaRole.Heading, new() { Name = "ยกเลิกการส่งต่อนี้หรือไม่" })).ToBeVisibleAsync();
        Assert.Equal("accepted", await _app.OrganisationStatusAsync(referralId));
        await status.GetByRole(AriaRole.Button, new() { Name = "ใช่ ยกเลิกการส่งต่อของฉัน" }).ClickAsync();
        await Expect(status.Locator("#status")).ToHaveTextAsync("คุณยกเลิกแล้ว");
        await Expect(status.GetByRole(AriaRole.Status)).ToHaveTextAsync("การส่งต่อของคุณถูกยกเลิกแล้ว");
        await AssertFitsAsync(status, 360);
        Assert.Equal("withdrawn", await _app.OrganisationStatusAsync(referralId));

        // 4. The partner's link now shows the referral withdrawn, and nothing of the client.
        await partner.Page.GotoAsync(link);
        await Expect(partner.Page.Locator("#status")).ToHaveTextAsync("Withdrawn by the person");
        await Expect(partner.Page.Locator("#state")).ToContainTextAsync("The person withdrew this referral.");
        await Expect(partner.Page.Locator("#decide")).ToBeHiddenAsync();
        await Expect(partner.Page.Locator("#progress")).ToBeHiddenAsync();
        await Expect(details).ToBeEmptyAsync();
        partner.AssertNoErrors();

        // What the three browsers sent and kept: the code in no URL and no Referer, no cookie anywhere.
        var canonical = token.Replace("-", "", StringComparison.Ordinal);
        foreach (var tab in new[] { caseworker, partner, client })
        {
            Assert.All(tab.Requests, r => Assert.DoesNotContain(canonical, Squeezed(Uri.UnescapeDataString(r.Url)), StringComparison.OrdinalIgnoreCase));
            // Chromium reports an empty Referer where the no-referrer policy removed it.
            Assert.All(tab.Requests, r => Assert.Equal("", r.Headers.GetValueOrDefault("referer", "")));
            Assert.Empty(await tab.Context.CookiesAsync());
            foreach (var response in tab.Responses)
            {
                Assert.False((await response.Headers).ContainsKey("set-cookie"), $"{response.Url} set a cookie");
            }
        }

        Assert.Equal(3, client.Requests.Count(r => r.Method == "POST" && r.Body == $"token={token}"));
        Assert.DoesNotContain(_app.Logs, line => line.Contains(canonical, StringComparison.OrdinalIgnoreCase) || line.Contains(token, StringComparison.OrdinalIgnoreCase));

        // Every page the client loaded: the security headers, and under 30 KB with everything it pulled in.
        var assets = 0;
        foreach (var asset in client.Responses.Where(r => r.ResourceType != "document").GroupBy(r => r.Url).Select(g => g.First()))
        {
            assets += await asset.BodyLength ?? 0;
        }

        var documents = client.Responses.Where(r => r.ResourceType == "document").ToList();
        Assert.Equal(4, documents.Count);
        foreach (var document in documents)
        {
            var headers = await document.Headers;
            Assert.Equal("no-store", headers["cache-control"]);
            Assert.Equal("no-referrer", headers["referrer-policy"]);
            Assert.Equal("nosniff", headers["x-content-type-options"]);
            Assert.StartsWith("default-src 'none'; script-src 'self'", headers["content-security-policy"], StringComparison.Ordinal);
            var bytes = (await document.BodyLength ?? 0) + assets;
            output.WriteLine($"{document.PathAndQuery}: {bytes} bytes with its stylesheet");
            Assert.InRange(bytes, 1, MaxPageBytes);
        }
    }

    /// <summary>Nothing wider than the phone: no sideways scrolling to read a status.</summary>
    private static async Task AssertFitsAsync(IPage page, int width)
    {
        foreach (var box in await page.Locator("main, header, main *").EvaluateAllAsync<double[]>("nodes => nodes.map(n => n.getBoundingClientRect().right)"))
        {
            Assert.InRange(box, 0, width);
        }
    }

    private static System.Text.RegularExpressions.Regex TokenPattern() => new("^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$");

    private static string Squeezed(string text) =>
        text.Replace("-", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).Replace("+", "", StringComparison.Ordinal);
}
