using System.Net;
using System.Net.Http.Json;
using System.Text;
using ReferralBroker.Embedded;

namespace ReferralBroker.Tests.Integration;

/// <summary>
/// The mail mode without an SMTP server: emails sealed on disk under a key only the process holds, readable only
/// through the mailbox (the page, the tests), gone at restart, redacted and deleted as their referral ends.
/// </summary>
public sealed class DevelopmentMailboxTests
{
    [Fact]
    public async Task A_partner_email_is_on_disk_only_sealed_and_readable_through_the_mailbox()
    {
        using var app = new BrokerApp();
        var (submitted, link) = await app.SubmitAndDispatchAsync();

        var file = Assert.Single(Directory.GetFiles(app.OutboxPath));
        Assert.EndsWith(DevelopmentMailbox.Extension, file, StringComparison.Ordinal);
        // The name still tells the referral and the time (the benchmark reads them), never the content.
        Assert.Contains($"-{submitted.ReferralId}-", Path.GetFileName(file), StringComparison.Ordinal);
        var bytes = await File.ReadAllBytesAsync(file);
        foreach (var needle in new[] { link.Secret, "partner/", PartnerMailSubject, "demo-health", "From:" })
        {
            Assert.False(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0, $"'{needle}' is readable in the sealed file.");
        }

        var message = Assert.Single(app.Mailbox.Messages());
        Assert.True(message.IsPartnerEmail);
        Assert.Contains(link.Secret, message.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_partner_email_is_redacted_once_its_details_are_destroyed_and_deleted_once_its_referral_is_purged()
    {
        using var app = new BrokerApp();
        var (declined, declinedLink) = await app.SubmitAndDispatchAsync();
        var (_, openLink) = await app.SubmitAndDispatchAsync();
        Assert.Equal(HttpStatusCode.OK, (await app.Partner(declinedLink)
            .PostAsJsonAsync($"/api/partner/referrals/{declined.ReferralId}/decline", new { reason = "no-capacity" })).StatusCode);

        await app.SweepAsync();

        var redacted = app.Mailbox.Messages().Single(m => m.ReferralId == declined.ReferralId);
        Assert.True(redacted.Redacted);
        Assert.DoesNotContain(declinedLink.Secret, redacted.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("/partner/", redacted.Text, StringComparison.Ordinal);
        // The open referral's email keeps its link: the partner still needs it.
        var open = app.Mailbox.Messages().Single(m => m.ReferralId == openLink.ReferralId);
        Assert.False(open.Redacted);
        Assert.Contains(openLink.Secret, open.Text, StringComparison.Ordinal);
        Assert.Equal(2, Directory.GetFiles(app.OutboxPath).Length);

        // The declined referral's record is purged after StatusAfterClose; its email goes with it.
        app.Time.Advance(TimeSpan.FromDays(31));
        await app.SweepAsync();
        Assert.DoesNotContain(app.Mailbox.Messages(), m => m.ReferralId == declined.ReferralId);
        Assert.DoesNotContain(Directory.GetFiles(app.OutboxPath), f => f.Contains(declined.ReferralId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task At_start_the_mode_is_announced_as_not_for_production_and_mail_of_an_earlier_process_is_deleted()
    {
        var dataPath = Directory.CreateTempSubdirectory("broker-mailbox-").FullName;
        using (var before = new BrokerApp(dataPath))
        {
            await before.SubmitAndDispatchAsync();
            Assert.Single(Directory.GetFiles(before.OutboxPath));
        }

        // An outbox .eml of an earlier version, holding a link in the clear, goes too.
        await File.WriteAllTextAsync(Path.Combine(dataPath, "mail", "20261123T120000000-ref_0-00000000.eml"), "https://broker.test/partner/ref_0#secret");
        using var after = new BrokerApp(dataPath);
        _ = after.Server;

        Assert.Empty(Directory.GetFiles(after.OutboxPath));
        Assert.Empty(after.Mailbox.Messages());
        var announcement = Assert.Single(after.Logs, l => l.StartsWith("Warning ReferralBroker.Embedded.DevelopmentMailbox", StringComparison.Ordinal));
        Assert.Contains("Not for production", announcement, StringComparison.Ordinal);
        Assert.Contains("Broker__Mail__Smtp__Host", announcement, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_mailbox_page_shows_the_partners_link_to_a_browser_on_this_machine_and_to_nobody_else()
    {
        using var app = new BrokerApp(realServer: true);
        var (_, link) = await app.SubmitAndDispatchAsync();
        using var browser = new HttpClient { BaseAddress = app.ServerAddress };

        var page = await browser.GetAsync(DevelopmentMailboxPage.Path);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("default-src 'none'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("no-store", page.Headers.CacheControl?.ToString());
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains($"""<a href="https://broker.test/partner/{link.ReferralId}#{link.Secret}" rel="noreferrer">""", html, StringComparison.Ordinal);
        Assert.Contains("""<link rel="stylesheet" href="/assets/site.css">""", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);
        // Reading it changes nothing: the same mail, still the partner's to open.
        Assert.Equal(html.Length, (await browser.GetStringAsync(DevelopmentMailboxPage.Path)).Length);
        Assert.False(Assert.Single(app.Mailbox.Messages()).Redacted);

        // Through a proxy on the same machine, or under another host name, it is a route that does not exist.
        foreach (var (header, value) in new[] { ("X-Forwarded-For", "203.0.113.7"), ("Forwarded", "for=203.0.113.7"), ("Host", "broker.example.org") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, DevelopmentMailboxPage.Path);
            request.Headers.TryAddWithoutValidation(header, value);
            var refused = await browser.SendAsync(request);
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
            Assert.DoesNotContain(link.Secret, await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_mailbox_page_is_refused_to_a_caller_whose_address_is_not_loopback()
    {
        using var app = new BrokerApp();
        await app.SubmitAndDispatchAsync();
        // The test server's requests carry no loopback peer address: as a remote caller's would not.
        var response = await app.CreateClient().GetAsync(DevelopmentMailboxPage.Path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private const string PartnerMailSubject = Referrals.PartnerMail.Subject;
}
