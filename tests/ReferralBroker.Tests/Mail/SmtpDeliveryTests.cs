using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using ReferralBroker.Sealing;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Tests.Mail;

/// <summary>
/// The embedded default with Broker:Mail:Smtp set, against a real SMTP server on loopback: what the partner's relay
/// receives, how the broker answers a busy relay, a refusal for good, a wrong password and a certificate it must not trust.
/// </summary>
public sealed class SmtpDeliveryTests
{
    private const string PartnerAddress = "intake@health.example.org";

    [Fact]
    public async Task Over_STARTTLS_the_partner_gets_one_authenticated_encrypted_email_whose_link_opens_the_referral()
    {
        using var server = await SmtpTestServer.StartAsync(SmtpTestMode.StartTls);
        using var app = new BrokerApp(settings: server.Settings());
        var marker = $"SMTPMARK{Guid.NewGuid():N}";
        var submitted = await app.SubmitAsync(BrokerApp.Referral(marker));

        Assert.Equal(1, await app.DispatchAsync());

        var mail = Assert.Single((await server.RecordAsync()).Received);
        Assert.True(mail.Secure, "The message crossed the connection before STARTTLS.");
        Assert.Equal(SmtpTestServer.UserName, mail.User);
        Assert.Equal("referrals@broker.test", mail.From);
        Assert.Equal([PartnerAddress], mail.To);
        var message = mail.Message;
        Assert.Equal(PartnerMail.Subject, message.Subject);
        // No header of anyone's but the email's own: nothing that tracks, nothing about the client or the broker's host.
        Assert.Equal(["content-type", "date", "from", "message-id", "mime-version", "subject", "to"],
            message.Headers.Concat(message.Body!.Headers).Select(h => h.Field.ToLowerInvariant()).Order(StringComparer.Ordinal));
        Assert.Equal("multipart/alternative", message.Body!.ContentType.MimeType);
        Assert.Equal(["text/plain", "text/html"], message.BodyParts.Select(p => p.ContentType.MimeType));
        // Nothing the client said travels, in any encoding of the body.
        Assert.DoesNotContain(marker, Encoding.UTF8.GetString(mail.Raw), StringComparison.Ordinal);
        Assert.DoesNotContain(marker, message.TextBody + message.HtmlBody, StringComparison.Ordinal);

        var link = BrokerApp.LinkIn(mail.Text);
        Assert.Equal(submitted.ReferralId, link.ReferralId);
        Assert.Equal("delivered", (await app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
        // The secret the relay carried opens what the broker sealed, and the partner's page is let in with it.
        var stored = (await app.Services.GetRequiredService<IReferralStore>().FindAsync(link.ReferralId, CancellationToken.None))!.Value;
        Assert.Contains(marker, Encoding.UTF8.GetString(ReferralSeal.Open(link.ReferralId, stored.Sealed!, link.SecretBytes)), StringComparison.Ordinal);
        var partner = app.Partner(link);
        var opened = await partner.GetFromJsonAsync<JsonElement>($"/api/partner/referrals/{link.ReferralId}");
        Assert.Equal("health", opened.GetProperty("category").GetString());
        Assert.Equal(HttpStatusCode.OK, (await partner.PostAsync($"/api/partner/referrals/{link.ReferralId}/accept", null)).StatusCode);
        Assert.Equal("accepted", (await app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
        Assert.False(Directory.Exists(app.OutboxPath), "SMTP mode wrote an outbox.");
        Assert.Contains(app.Logs, line => line.Contains($"Partner emails go by SMTP to 127.0.0.1:{server.Port} (StartTls", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_implicit_TLS_the_email_arrives_over_TLS()
    {
        using var server = await SmtpTestServer.StartAsync(SmtpTestMode.Tls);
        using var app = new BrokerApp(settings: server.Settings(SmtpTestMode.Tls));
        var submitted = await app.SubmitAsync();

        await app.DispatchAsync();

        var mail = Assert.Single((await server.RecordAsync()).Received);
        Assert.True(mail.Secure);
        Assert.Equal(submitted.ReferralId, BrokerApp.LinkIn(mail.Text).ReferralId);
    }

    [Fact]
    public async Task Without_TLS_to_a_relay_on_this_machine_the_email_is_sent_in_clear_and_without_credentials()
    {
        using var server = await SmtpTestServer.StartAsync(SmtpTestMode.Plain, withAuth: false);
        using var app = new BrokerApp(settings: server.Settings(SmtpTestMode.Plain, password: null, pin: false));
        await app.SubmitAsync();

        await app.DispatchAsync();

        var mail = Assert.Single((await server.RecordAsync()).Received);
        Assert.False(mail.Secure);
        Assert.Null(mail.User);
    }

    [Fact]
    public async Task A_wrong_password_delivers_nothing_keeps_the_referral_for_a_retry_and_logs_neither_password()
    {
        const string wrong = "not-the-relay-password-77";
        using var server = await SmtpTestServer.StartAsync(SmtpTestMode.StartTls);
        using var app = new BrokerApp(settings: server.Settings(password: wrong));
        var submitted = await app.SubmitAsync();

        Assert.Equal(1, await app.DispatchAsync());

        var record = await server.RecordAsync();
        Assert.Empty(record.Received);
        Assert.True(record.AuthFailures >= 1);
        Assert.Equal("submitted", (await app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
        Assert.Contains(app.Logs, line => line.Contains("refused the credentials", StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs, line => line.Contains(wrong, StringComparison.Ordinal) || line.Contains(SmtpTestServer.Password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_relay_whose_self_signed_certificate_is_not_pinned_gets_no_email()
    {
        using var server = await SmtpTestServer.StartAsync(SmtpTestMode.StartTls);
        using var app = new BrokerApp(settings: server.Settings(pin: false));
        var submitted = await app.SubmitAsync();

        Assert.Equal(1, await app.DispatchAsync());

        Assert.Empty((await server.RecordAsync()).Received);
        Assert.Equal("submitted", (await app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
        Assert.Contains(app.Logs, line => line.Contains("No TLS with the SMTP relay", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_busy_relay_4xx_is_retried_and_the_partner_gets_the_email_once()
    {
        using var server = await SmtpTestServer.StartAsync(SmtpTestMode.StartTls);
        using var app = new BrokerApp(settings: server.Settings());
        var submitted = await app.SubmitAsync();
        await server.FailNextAsync(1);

        Assert.Equal(1, await app.DispatchAsync());
        var busy = await server.RecordAsync();
        Assert.Equal(1, busy.TemporaryFailures);
        Assert.Empty(busy.Received);
        Assert.Equal("submitted", (await app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
        var waiting = await app.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{submitted.ReferralId}");
        Assert.False(waiting.TryGetProperty("deliveryFailed", out var failed) && failed.GetBoolean(), "A 4xx was taken for a refusal for good.");

        // Nothing is due until the message's backoff has passed.
        Assert.Equal(0, await app.DispatchAsync());
        app.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await app.DispatchAsync());

        var mail = Assert.Single((await server.RecordAsync()).Received);
        Assert.Equal(submitted.ReferralId, BrokerApp.LinkIn(mail.Text).ReferralId);
        Assert.Equal("delivered", (await app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
        app.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(0, await app.DispatchAsync());
        Assert.Single((await server.RecordAsync()).Received);
    }

    [Fact]
    public async Task A_recipient_the_relay_refuses_with_5xx_is_tried_once_then_marked_deliveryFailed_and_the_organisation_is_told()
    {
        using var server = await SmtpTestServer.StartAsync(SmtpTestMode.StartTls);
        var settings = server.Settings();
        // Far more attempts than this test makes: only the refusal rule, not the retry limit, can end it after one.
        settings["Broker:Queue:MaxDeliveryCount"] = "50";
        settings["Broker:Organisations:1:Id"] = "notified-org";
        settings["Broker:Organisations:1:Name"] = "Notified organisation";
        settings["Broker:Organisations:1:ApiKeySha256"] = ApiKeys.Hash(NotificationTests.NotifiedOrgKey);
        settings["Broker:Organisations:1:NotificationEmail"] = NotificationTests.NotificationEmail;
        using var app = new BrokerApp(settings: settings);
        await server.RefuseAsync(PartnerAddress);
        var organisation = app.Organisation(NotificationTests.NotifiedOrgKey);
        var submitted = await app.SubmitAsync(organisation: organisation);

        Assert.Equal(1, await app.DispatchAsync());

        var view = await organisation.GetFromJsonAsync<JsonElement>($"/api/referrals/{submitted.ReferralId}");
        Assert.True(view.GetProperty("deliveryFailed").GetBoolean());
        var stored = (await app.Services.GetRequiredService<IReferralStore>().FindAsync(submitted.ReferralId, CancellationToken.None))!.Value;
        Assert.Null(stored.Sealed);
        var refused = await server.RecordAsync();
        Assert.Equal(1, refused.RefusedRecipients);
        Assert.Empty(refused.Received);
        Assert.Contains(app.Logs, line => line.Contains("refused the mail for referral", StringComparison.Ordinal) && line.Contains("550", StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs, line => line.Contains("will retry", StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs, line => line.Contains("No such user", StringComparison.Ordinal) || line.Contains(PartnerAddress, StringComparison.Ordinal));

        // The message is gone, not waiting out a backoff: nothing is tried again, however long.
        app.Time.Advance(TimeSpan.FromHours(2));
        Assert.Equal(0, await app.DispatchAsync());
        Assert.Equal(1, (await server.RecordAsync()).RefusedRecipients);

        // The caseworker hears of it through the same relay, and can send the referral again.
        Assert.Equal(1, await app.NotifyAsync());
        var notice = Assert.Single((await server.RecordAsync()).Received);
        Assert.Equal([NotificationTests.NotificationEmail], notice.To);
        Assert.Contains($"Referral {submitted.ReferralId} is now: delivery-failed", notice.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_relay_that_denies_relaying_5_7_1_keeps_the_referral_submitted_and_delivers_it_once_the_relay_is_fixed()
    {
        using var server = await SmtpTestServer.StartAsync(SmtpTestMode.StartTls);
        var settings = server.Settings();
        settings["Broker:Queue:MaxDeliveryCount"] = "50";
        using var app = new BrokerApp(settings: settings);
        // Postfix's answer to a login it does not let relay: the relay's configuration (or ours), not this address.
        await server.AnswerRecipientsAsync(554, $"5.7.1 <{PartnerAddress}>: Relay access denied");
        var submitted = await app.SubmitAsync();

        Assert.Equal(1, await app.DispatchAsync());

        Assert.Equal(1, (await server.RecordAsync()).RefusedRecipients);
        Assert.Equal("submitted", (await app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
        var waiting = await app.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{submitted.ReferralId}");
        Assert.False(waiting.TryGetProperty("deliveryFailed", out var failed) && failed.GetBoolean(), "A relay that denies relaying destroyed the referral.");
        var stored = (await app.Services.GetRequiredService<IReferralStore>().FindAsync(submitted.ReferralId, CancellationToken.None))!.Value;
        Assert.NotNull(stored.Sealed);
        // The Error log names the settings to check, with the enhanced code and never the relay's text or the address.
        Assert.Contains(app.Logs, line => line.Contains("5.7.1", StringComparison.Ordinal) && line.Contains("Broker:Mail:Smtp", StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs, line => line.Contains("Relay access denied", StringComparison.Ordinal) || line.Contains(PartnerAddress, StringComparison.Ordinal));

        // The operator fixes the relay: the next attempt, after the backoff, delivers it.
        await server.LiftRecipientReplyAsync();
        app.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await app.DispatchAsync());

        var mail = Assert.Single((await server.RecordAsync()).Received);
        Assert.Equal(submitted.ReferralId, BrokerApp.LinkIn(mail.Text).ReferralId);
        Assert.Equal("delivered", (await app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_recipient_the_relay_does_not_know_5_1_1_is_tried_once_and_marked_deliveryFailed()
    {
        using var server = await SmtpTestServer.StartAsync(SmtpTestMode.StartTls);
        var settings = server.Settings();
        // Far more attempts than this test makes: only the refusal rule, not the retry limit, can end it after one.
        settings["Broker:Queue:MaxDeliveryCount"] = "50";
        using var app = new BrokerApp(settings: settings);
        await server.AnswerRecipientsAsync(550, $"5.1.1 <{PartnerAddress}>: Recipient address rejected: User unknown in virtual mailbox table");
        var submitted = await app.SubmitAsync();

        Assert.Equal(1, await app.DispatchAsync());

        var view = await app.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{submitted.ReferralId}");
        Assert.True(view.GetProperty("deliveryFailed").GetBoolean());
        Assert.Equal(1, (await server.RecordAsync()).RefusedRecipients);
        Assert.DoesNotContain(app.Logs, line => line.Contains("User unknown", StringComparison.Ordinal) || line.Contains(PartnerAddress, StringComparison.Ordinal));
        app.Time.Advance(TimeSpan.FromHours(2));
        Assert.Equal(0, await app.DispatchAsync());
        Assert.Equal(1, (await server.RecordAsync()).RefusedRecipients);
    }

    [Fact]
    public async Task Referrals_dispatched_in_parallel_each_reach_the_partner_once()
    {
        using var server = await SmtpTestServer.StartAsync(SmtpTestMode.StartTls);
        var settings = server.Settings();
        settings["Broker:Mail:Smtp:MaxConnections"] = "3";
        using var app = new BrokerApp(settings: settings);
        var ids = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            ids.Add((await app.SubmitAsync()).ReferralId);
        }

        Assert.Equal(12, await app.DispatchAsync());

        var received = (await server.RecordAsync()).Received.Select(m => BrokerApp.LinkIn(m.Text).ReferralId).Order();
        Assert.Equal(ids.Order(), received);
    }
}
