using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ReferralBroker.Tests.Integration;

/// <summary>
/// The server-rendered status page without a browser: plain form posts, as a phone with JavaScript off sends them.
/// </summary>
public sealed partial class StatusPageTests : IDisposable
{
    private readonly BrokerApp _app = new(settings: new Dictionary<string, string?> { ["Broker:RateLimits:StatusPerMinute"] = "6" });

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Posting_the_code_shows_the_status_what_happens_next_and_everything_held_with_its_deletion_date()
    {
        var (submitted, _) = await _app.SubmitAndDispatchAsync();
        var typed = submitted.StatusToken.ToLowerInvariant().Replace('-', ' ');

        var response = await PostAsync("/status?lang=en", typed);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("<dd id=\"status\">The service has received your referral.</dd>", html, StringComparison.Ordinal);
        Assert.Contains("The service will decide soon whether they can help.", html, StringComparison.Ordinal);
        // The same list as the API's held, each item with its own date, worded for a person.
        var api = (await _app.StatusAsync(submitted.StatusToken)).GetProperty("held").EnumerateArray().ToList();
        var shown = HeldItem().Matches(html).Select(m => m.Groups["date"].Value).ToList();
        Assert.Equal(api.Select(h => LongDate(h.GetProperty("deletedBy").GetDateTimeOffset())), shown);
        Assert.Contains("Your referral details, locked", html, StringComparison.Ordinal);
        Assert.Contains("demo-health", html, StringComparison.Ordinal);
        AssertClientPageHeaders(response);
    }

    [Fact]
    public async Task Withdrawing_takes_a_confirmation_step_that_changes_nothing_then_withdraws()
    {
        var (submitted, link) = await _app.SubmitAndDispatchAsync();

        var confirm = await PostAsync("/status/withdraw?lang=en", submitted.StatusToken);
        var confirmation = await confirm.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, confirm.StatusCode);
        Assert.Contains("Stop this referral?", confirmation, StringComparison.Ordinal);
        Assert.Contains("your details are destroyed straight away", confirmation, StringComparison.Ordinal);
        // The next step carries the code in the form body; the address only says which step and which language.
        Assert.Contains($"""<form method="post" action="/status/withdraw/confirm?lang=en"><input type="hidden" name="token" value="{submitted.StatusToken}">""", confirmation, StringComparison.Ordinal);
        Assert.Equal("delivered", await _app.OrganisationStatusAsync(submitted.ReferralId));

        var done = await PostAsync("/status/withdraw/confirm?lang=en", submitted.StatusToken);
        var result = await done.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Contains("Your referral is stopped.", result, StringComparison.Ordinal);
        Assert.Contains("<dd id=\"status\">Stopped by you.</dd>", result, StringComparison.Ordinal);
        Assert.DoesNotContain("Stop my referral", result, StringComparison.Ordinal);
        Assert.DoesNotContain("Your referral details, locked", result, StringComparison.Ordinal);
        Assert.Equal("withdrawn", await _app.OrganisationStatusAsync(submitted.ReferralId));
        var partnerView = await _app.Partner(link).GetFromJsonAsync<JsonElement>($"/api/partner/referrals/{link.ReferralId}");
        Assert.False(partnerView.TryGetProperty("sealed", out _));

        // Asking again once it has ended says so, and offers nothing to press.
        var again = await (await PostAsync("/status/withdraw?lang=en", submitted.StatusToken)).Content.ReadAsStringAsync();
        Assert.Contains("This referral has already ended, so there is nothing to stop.", again, StringComparison.Ordinal);
        Assert.DoesNotContain("/status/withdraw/confirm", again, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no-capacity")]
    [InlineData("not-eligible")]
    public async Task A_decline_reads_the_same_neutral_words_whatever_the_partners_reason(string reason)
    {
        var (submitted, link) = await _app.SubmitAndDispatchAsync();
        var declined = await _app.Partner(link).PostAsJsonAsync($"/api/partner/referrals/{link.ReferralId}/decline", new { reason });
        declined.EnsureSuccessStatusCode();

        var html = await (await PostAsync("/status?lang=en", submitted.StatusToken)).Content.ReadAsStringAsync();

        Assert.Contains("The service cannot take this referral.", html, StringComparison.Ordinal);
        Assert.Contains("This can happen for many reasons, for example when a service is full.", html, StringComparison.Ordinal);
        Assert.DoesNotContain("eligib", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("capacity", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_unknown_code_and_a_missing_code_are_answered_in_the_clients_language()
    {
        var unknown = await PostAsync("/status?lang=th", "0000-0000-0000-0000");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var html = await unknown.Content.ReadAsStringAsync();
        Assert.Contains("ไม่พบการส่งต่อที่ใช้รหัสนี้", html, StringComparison.Ordinal);
        Assert.Contains("aria-invalid=\"true\"", html, StringComparison.Ordinal);

        var missing = await PostAsync("/status?lang=es", "");
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("Escriba el código de su tarjeta.", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, null, "en", "Check your referral")]
    [InlineData(null, "th-TH,th;q=0.9,en;q=0.5", "th", "ตรวจสอบการส่งต่อของคุณ")]
    [InlineData(null, "de-DE, pt-BR;q=0.8, en;q=0.3", "pt", "Consultar o seu encaminhamento")]
    [InlineData(null, "zh-TW", "zh-Hans", "查询您的转介")]
    [InlineData(null, "en;q=0.2, fr;q=0.9", "fr", "Suivre votre orientation")]
    [InlineData(null, "hi-IN,hi;q=0.9,en;q=0.5", "hi", "अपना रेफ़रल देखें")]
    [InlineData(null, "mr-IN", "mr", "तुमचा रेफरल पाहा")]
    [InlineData(null, "vi-VN,vi;q=0.9", "vi", "Xem giới thiệu của bạn")]
    [InlineData(null, "ko-KR,ko;q=0.9,en-US;q=0.8", "ko", "내 연계 의뢰 확인하기")]
    [InlineData(null, "ro-RO", "ro", "Verificați trimiterea")]
    [InlineData("es", "th", "es", "Consultar su derivación")]
    [InlineData("xx", "fr", "fr", "Suivre votre orientation")]
    public async Task The_language_comes_from_the_lang_parameter_then_Accept_Language_then_English(
        string? lang, string? acceptLanguage, string expected, string heading)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, lang is null ? "/status" : $"/status?lang={lang}");
        if (acceptLanguage is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Language", acceptLanguage);
        }

        var response = await _app.CreateClient().SendAsync(request);
        var html = await response.Content.ReadAsStringAsync();

        Assert.Contains($"<html lang=\"{expected}\">", html, StringComparison.Ordinal);
        Assert.Contains($"<h1>{heading}</h1>", html, StringComparison.Ordinal);
        // The chosen language stays in the form's address, and the picker offers every language by its own name.
        Assert.Contains($"action=\"/status?lang={expected}\"", html, StringComparison.Ordinal);
        Assert.Contains("<a href=\"/status?lang=th\" lang=\"th\" hreflang=\"th\"", html, StringComparison.Ordinal);
        AssertClientPageHeaders(response);
    }

    [Fact]
    public async Task The_page_shares_the_status_APIs_rate_limit_and_says_so_in_the_clients_language()
    {
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await _app.CreateClient().PostAsJsonAsync("/api/status", new { token = "0000-0000-0000-0000" })).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await PostAsync("/status", "0000-0000-0000-0000")).StatusCode);
        }

        var refused = await PostAsync("/status?lang=fr", "0000-0000-0000-0000");

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("text/html", refused.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Trop d’essais depuis cette connexion.", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await _app.CreateClient().PostAsJsonAsync("/api/status", new { token = "0000-0000-0000-0000" })).StatusCode);
    }

    [Fact]
    public async Task Every_client_page_has_a_quick_exit_that_says_it_does_not_erase_history()
    {
        var submitted = await _app.SubmitAsync();
        foreach (var response in new[]
        {
            await _app.CreateClient().GetAsync("/?lang=en"),
            await _app.CreateClient().GetAsync("/status?lang=en"),
            await PostAsync("/status?lang=en", submitted.StatusToken),
            await PostAsync("/status/withdraw?lang=en", submitted.StatusToken),
        })
        {
            var html = await response.Content.ReadAsStringAsync();
            Assert.Contains("<a id=\"quick-exit\" class=\"quick-exit\" href=\"https://www.wikipedia.org/\" rel=\"noreferrer\">Quick exit</a>", html, StringComparison.Ordinal);
            Assert.Contains("It does not erase your browser history", html, StringComparison.Ordinal);
            Assert.Contains("<script src=\"/assets/quick-exit.js\" defer></script>", html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_refer_page_carries_the_consent_script_and_card_in_every_client_language()
    {
        var response = await _app.CreateClient().GetAsync("/refer");
        var html = await response.Content.ReadAsStringAsync();
        var block = ClientTexts().Match(html);
        Assert.True(block.Success, "refer.html has no client-texts block");

        var texts = JsonDocument.Parse(block.Groups["json"].Value).RootElement;
        Assert.Equal("https://broker.test/status", texts.GetProperty("statusPage").GetString());
        var languages = texts.GetProperty("languages");
        Assert.Equal(["en", "es", "fr", "pt", "th", "zh-Hans", "hi", "mr", "vi", "ko", "ro"], languages.EnumerateObject().Select(l => l.Name));
        Assert.Equal("คุณตกลงให้เราส่งข้อมูลเหล่านี้หรือไม่", languages.GetProperty("th").GetProperty("ConsentScriptQuestion").GetString());
        Assert.Equal("您的转介代码", languages.GetProperty("zh-Hans").GetProperty("CardTitle").GetString());
        Assert.Equal("ไทย", languages.GetProperty("th").GetProperty("name").GetString());
        Assert.Equal("이 내용을 보내는 데 동의하시나요?", languages.GetProperty("ko").GetProperty("ConsentScriptQuestion").GetString());
        Assert.Equal("हिन्दी", languages.GetProperty("hi").GetProperty("name").GetString());
    }

    /// <summary>Not cached, not referred, and no cookie: nothing of the visit stays behind or travels on.</summary>
    private static void AssertClientPageHeaders(HttpResponseMessage response)
    {
        Assert.False(response.Headers.Contains("Set-Cookie"), "A client page set a cookie.");
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        Assert.Contains("form-action 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    private Task<HttpResponseMessage> PostAsync(string path, string token) =>
        _app.CreateClient().PostAsync(path, new FormUrlEncodedContent([new("token", token)]));

    private static string LongDate(DateTimeOffset at) =>
        $"{at.UtcDateTime.Day} {System.Globalization.CultureInfo.InvariantCulture.DateTimeFormat.GetMonthName(at.UtcDateTime.Month)} {at.UtcDateTime.Year}";

    [GeneratedRegex(@"<li>[^<]+ <strong>Deleted by (?<date>[^<]+)\.</strong></li>")]
    private static partial Regex HeldItem();

    [GeneratedRegex("""<script type="application/json" id="client-texts">(?<json>.*?)</script>""", RegexOptions.Singleline)]
    private static partial Regex ClientTexts();
}
