using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Http;
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
        foreach (var (header, value) in new[]
        {
            ("X-Forwarded-For", "203.0.113.7"), ("Forwarded", "for=203.0.113.7"), ("Host", "broker.example.org"),
            ("X-Forwarded-Host", "localhost"), ("X-Original-For", "203.0.113.7:5000"), ("X-Original-Host", "broker.example.org"),
            ("X-Original-Proto", "http"),
        })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, DevelopmentMailboxPage.Path);
            request.Headers.TryAddWithoutValidation(header, value);
            var refused = await browser.SendAsync(request);
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
            Assert.DoesNotContain(link.Secret, await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Moving_to_SMTP_deletes_every_mail_file_an_earlier_mode_or_version_left_so_a_seized_folder_holds_no_link()
    {
        var dataPath = Directory.CreateTempSubdirectory("broker-mailbox-").FullName;
        var marker = $"MBXMARK{Guid.NewGuid():N}";
        PartnerLink link;
        Submitted submitted;
        using (var before = new BrokerApp(dataPath))
        {
            (submitted, link) = await before.SubmitAndDispatchAsync(BrokerApp.Referral(marker));
        }

        // The old outbox's readable email of the referral still open, a half-written one, and a sealed one.
        var mail = Path.Combine(dataPath, "mail");
        await File.WriteAllTextAsync(Path.Combine(mail, $"20261123T120000000-{link.ReferralId}-00000000.eml"),
            $"Subject: A referral for you\r\n\r\nhttps://broker.test/partner/{link.ReferralId}#{link.Secret}\r\n");
        await File.WriteAllTextAsync(Path.Combine(mail, $"20261123T120000001-{link.ReferralId}-00000001.eml.tmp"), link.Secret);
        await File.WriteAllBytesAsync(Path.Combine(mail, $"20261123T120000002-{link.ReferralId}-00000002.sealed"), link.SecretBytes);
        Assert.Equal(4, Directory.GetFiles(mail).Length);

        using var server = await Mail.SmtpTestServer.StartAsync();
        using var after = new BrokerApp(dataPath, settings: server.Settings());
        _ = after.Server;

        Assert.False(Directory.Exists(mail), "SMTP mode kept the earlier mail folder.");
        Assert.DoesNotContain(Directory.GetFiles(dataPath, "*", SearchOption.AllDirectories), f => f.Contains(link.ReferralId, StringComparison.Ordinal));
        // The referral is still open for its partner: the broker kept it, only the mail of the earlier mode went.
        Assert.Equal("delivered", (await after.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
        var seizure = Reliability.Seizure.Search(after.Logs, [marker], [submitted.StatusToken], [link], dataPath);
        Assert.True(seizure.Hits == 0, seizure.ToString());
    }

    [Fact]
    public async Task In_a_shared_mail_folder_only_the_mailboxs_own_files_of_an_earlier_process_are_deleted()
    {
        var shared = Directory.CreateTempSubdirectory("broker-shared-mail-").FullName;
        string[] ours =
        [
            "20261123T120000000-ref_0a1b-0123abcd.sealed",
            "20261123T120000000-ref_0a1b.accepted-0123abcd.sealed",
            "20261123T120000000-ref_0a1b-0123abcd.sealed.0123456789abcdef0123456789abcdef.tmp",
            "20261123T120000000-ref_0a1b-0123abcd.eml",
            "20261123T120000000-ref_0a1b-0123abcd.eml.tmp",
        ];
        string[] foreign = ["notes.eml", "report.tmp", "backup.sealed", "20261123T120000000-ref_0a1b-0123abcd.eml.bak", "x-20261123T120000000-ref_0-0123abcd.eml"];
        foreach (var name in ours.Concat(foreign))
        {
            await File.WriteAllTextAsync(Path.Combine(shared, name), name);
        }

        using var app = new BrokerApp(settings: new Dictionary<string, string?> { ["Broker:Mail:OutboxPath"] = shared });
        _ = app.Server;

        Assert.Equal(foreign.Order(StringComparer.Ordinal), Directory.GetFiles(shared).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_peer_check_refuses_a_caller_whose_address_is_not_loopback_even_asking_for_localhost()
    {
        // Kestrel cannot be reached here from a non-loopback address, and the test server gives no address at all:
        // the check itself, on the request as Kestrel would hand it over.
        static DefaultHttpContext Request(string? remote)
        {
            var context = new DefaultHttpContext();
            context.Connection.RemoteIpAddress = remote is null ? null : IPAddress.Parse(remote);
            context.Request.Host = new HostString("localhost", 7071);
            return context;
        }

        Assert.True(DevelopmentMailboxPage.FromThisMachine(Request("127.0.0.1")));
        Assert.True(DevelopmentMailboxPage.FromThisMachine(Request("::1")));
        Assert.True(DevelopmentMailboxPage.FromThisMachine(Request("::ffff:127.0.0.1")));
        Assert.False(DevelopmentMailboxPage.FromThisMachine(Request("203.0.113.7")));
        Assert.False(DevelopmentMailboxPage.FromThisMachine(Request("::ffff:203.0.113.7")));
        Assert.False(DevelopmentMailboxPage.FromThisMachine(Request("192.168.1.20")));
        Assert.False(DevelopmentMailboxPage.FromThisMachine(Request(null)));
    }

    [Fact]
    public async Task With_a_trusted_proxy_configured_the_mailbox_page_does_not_exist_even_for_what_the_proxy_says_is_local()
    {
        using var app = new BrokerApp(realServer: true, settings: new Dictionary<string, string?> { ["Broker:ForwardedHeaders:KnownProxies:0"] = "127.0.0.1" });
        var (_, link) = await app.SubmitAndDispatchAsync();
        using var proxy = Gate.LoopbackCallersTests.Client(app, "127.0.0.1");

        foreach (var headers in new[]
        {
            new[] { ("Host", "referrals.example.org"), ("X-Forwarded-Host", "localhost") },
            [("Host", "localhost"), ("X-Forwarded-For", "127.0.0.1")],
            // A bare proxy_pass: no header at all, just as a local browser.
            [("Host", "localhost")],
        })
        {
            await AssertNotFoundAsync(proxy, link, headers);
        }

        var announcement = Assert.Single(app.Logs, l => l.StartsWith("Warning ReferralBroker.Embedded.DevelopmentMailbox", StringComparison.Ordinal));
        Assert.Contains("the emails cannot be read", announcement, StringComparison.Ordinal);
        Assert.Contains("Broker__Mail__Smtp__Host", announcement, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_Production_the_mailbox_keeps_its_sealed_files_but_the_page_does_not_exist_and_the_start_says_the_emails_cannot_be_read()
    {
        using var app = new BrokerApp(realServer: true, settings: new Dictionary<string, string?> { ["environment"] = "Production", ["Broker:Demo:Enabled"] = "true" });
        var (_, link) = await app.SubmitAndDispatchAsync();
        using var browser = new HttpClient { BaseAddress = app.ServerAddress };

        Assert.EndsWith(DevelopmentMailbox.Extension, Assert.Single(Directory.GetFiles(app.OutboxPath)), StringComparison.Ordinal);
        await AssertNotFoundAsync(browser, link, [("Host", "localhost")]);
        var announcement = Assert.Single(app.Logs, l => l.StartsWith("Warning ReferralBroker.Embedded.DevelopmentMailbox", StringComparison.Ordinal));
        Assert.Contains("the emails cannot be read", announcement, StringComparison.Ordinal);
        Assert.Contains("Broker__Mail__Smtp__Host", announcement, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_or_altered_mail_file_is_skipped_and_counted_on_the_page_not_a_500()
    {
        using var app = new BrokerApp(realServer: true);
        var (_, kept) = await app.SubmitAndDispatchAsync();
        var (truncated, _) = await app.SubmitAndDispatchAsync();
        var (altered, _) = await app.SubmitAndDispatchAsync();
        var files = Directory.GetFiles(app.OutboxPath);
        File.WriteAllBytes(files.Single(f => f.Contains(truncated.ReferralId, StringComparison.Ordinal)), [1, 2, 3]);
        var alteredFile = files.Single(f => f.Contains(altered.ReferralId, StringComparison.Ordinal));
        var bytes = File.ReadAllBytes(alteredFile);
        bytes[^1] ^= 1;
        File.WriteAllBytes(alteredFile, bytes);
        using var browser = new HttpClient { BaseAddress = app.ServerAddress };

        var page = await browser.GetAsync(DevelopmentMailboxPage.Path);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains(kept.Secret, html, StringComparison.Ordinal);
        Assert.Contains("<strong>2 messages could not be read</strong>", html, StringComparison.Ordinal);
        Assert.Equal(kept.ReferralId, Assert.Single(app.Mailbox.Messages(out var unreadable)).ReferralId);
        Assert.Equal(2, unreadable);
    }

    [Fact]
    public async Task After_dispose_zeroed_the_key_the_mailbox_reads_nothing_and_counts_every_file_unreadable()
    {
        var folder = Path.Combine(Directory.CreateTempSubdirectory("broker-mailbox-").FullName, "mail");
        var mailbox = new DevelopmentMailbox(folder, "referrals@broker.test", TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<DevelopmentMailbox>.Instance);
        await mailbox.SendAsync(new Ports.OutgoingMail("intake@health.example.org", "A referral", "text", "<p>html</p>", "ref_0a1b"), CancellationToken.None);
        Assert.Single(mailbox.Messages());

        mailbox.Dispose();

        Assert.Empty(mailbox.Messages(out var unreadable));
        Assert.Equal(1, unreadable);
    }

    private static async Task AssertNotFoundAsync(HttpClient client, PartnerLink link, (string Header, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, DevelopmentMailboxPage.Path);
        foreach (var (header, value) in headers)
        {
            if (header == "Host")
            {
                request.Headers.Host = value;
            }
            else
            {
                request.Headers.TryAddWithoutValidation(header, value);
            }
        }

        var refused = await client.SendAsync(request);
        Assert.True(refused.StatusCode == HttpStatusCode.NotFound, $"{string.Join(", ", headers)}: {refused.StatusCode}");
        Assert.DoesNotContain(link.Secret, await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private const string PartnerMailSubject = Referrals.PartnerMail.Subject;
}
