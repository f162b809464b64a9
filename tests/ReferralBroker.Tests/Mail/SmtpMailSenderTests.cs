using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using ReferralBroker.Embedded.Mail;
using ReferralBroker.Hosting;
using ReferralBroker.Ports;

namespace ReferralBroker.Tests.Mail;

/// <summary>
/// What the SMTP sender tells the dispatcher for each way a relay can answer: a retry later (TransientDeliveryException)
/// or a refusal for good (PermanentDeliveryException), never the password, the address or the relay's text in a message.
/// </summary>
public sealed class SmtpMailSenderTests
{
    private static readonly OutgoingMail Mail = new("intake@health.example.org", "A new referral is waiting for you",
        "Open https://broker.test/partner/ref_0123#secret", "<p>Open</p>", "ref_0123");

    private static SmtpMailSender Sender(int port, string? password = SmtpTestServer.Password, string? pin = null, TimeSpan? timeout = null) => new(
        new MailOptions
        {
            From = "referrals@broker.test",
            Smtp = new SmtpOptions
            {
                Host = "127.0.0.1",
                Port = port,
                UserName = password is null ? null : SmtpTestServer.UserName,
                Password = password,
                CertificateSha256 = pin,
                Timeout = timeout ?? TimeSpan.FromSeconds(20),
            },
        },
        TimeProvider.System, NullLogger<SmtpMailSender>.Instance);

    [Fact]
    public async Task A_4xx_is_transient()
    {
        using var server = await SmtpTestServer.StartAsync();
        await server.FailNextAsync(1);
        using var sender = Sender(server.Port, pin: server.CertificateSha256);

        await Assert.ThrowsAsync<TransientDeliveryException>(() => sender.SendAsync(Mail, CancellationToken.None));
        await sender.SendAsync(Mail, CancellationToken.None);

        Assert.Single((await server.RecordAsync()).Received);
    }

    [Fact]
    public async Task A_5xx_for_the_recipient_is_a_refusal_for_good()
    {
        using var server = await SmtpTestServer.StartAsync();
        await server.RefuseAsync(Mail.To);
        using var sender = Sender(server.Port, pin: server.CertificateSha256);

        var refused = await Assert.ThrowsAsync<SmtpRefusedException>(() => sender.SendAsync(Mail, CancellationToken.None));

        Assert.Equal(550, refused.Status);
        Assert.IsAssignableFrom<PermanentDeliveryException>(refused);
        Assert.DoesNotContain("No such user", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Mail.To, refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    // Security or policy (5.7.x): relaying denied (Postfix, Exchange), a sender this login may not use.
    [InlineData(554, "5.7.1 <intake@health.example.org>: Relay access denied")]
    [InlineData(550, "5.7.54 SMTP; Unable to relay recipient in non-accepted domain")]
    [InlineData(550, "5.7.60 SMTP; Client does not have permissions to send as this sender")]
    // The sender's address, not the recipient's (5.1.7, 5.1.8), and the protocol between the broker and its relay (5.5.x).
    [InlineData(553, "5.1.8 <referrals@broker.test>: Sender address rejected: Domain not found")]
    [InlineData(555, "5.5.4 Unsupported option")]
    public async Task A_5xx_for_the_recipient_that_is_a_relay_or_policy_refusal_is_configuration_and_transient(int code, string text)
    {
        using var server = await SmtpTestServer.StartAsync();
        await server.AnswerRecipientsAsync(code, text);
        using var sender = Sender(server.Port, pin: server.CertificateSha256);

        var failure = await Assert.ThrowsAsync<TransientDeliveryException>(() => sender.SendAsync(Mail, CancellationToken.None));

        Assert.Contains("Broker:Mail:Smtp", failure.Message, StringComparison.Ordinal);
        Assert.Contains(text[..text.IndexOf(' ', StringComparison.Ordinal)], failure.Message, StringComparison.Ordinal);
        // Nothing of the relay's reply is kept but its codes: not in the message, not in an inner exception.
        Assert.DoesNotContain(text[(text.IndexOf(' ', StringComparison.Ordinal) + 1)..], failure.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Mail.To, failure.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(550, "5.1.1 <intake@health.example.org>: Recipient address rejected: User unknown")]
    [InlineData(550, "5.1.2 Host unknown")]
    [InlineData(552, "5.2.2 Mailbox full")]
    [InlineData(550, "5.2.1 Mailbox disabled")]
    [InlineData(550, "5.4.4 Unable to route")]
    [InlineData(550, "Requested action not taken: mailbox unavailable")]
    public async Task A_5xx_for_the_recipient_about_its_address_or_mailbox_is_a_refusal_for_good(int code, string text)
    {
        using var server = await SmtpTestServer.StartAsync();
        await server.AnswerRecipientsAsync(code, text);
        using var sender = Sender(server.Port, pin: server.CertificateSha256);

        var refused = await Assert.ThrowsAsync<SmtpRefusedException>(() => sender.SendAsync(Mail, CancellationToken.None));

        Assert.Equal(code, refused.Status);
        Assert.DoesNotContain(text, refused.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("5.7.1 Relay access denied", 7, 1)]
    [InlineData("5.7.54 SMTP; Unable to relay", 7, 54)]
    [InlineData("  5.1.10 Null MX", 1, 10)]
    [InlineData("5.1.1\nsecond line", 1, 1)]
    [InlineData("No enhanced code here", null, null)]
    [InlineData("5.7 incomplete", null, null)]
    [InlineData("5.7.1234 too long", null, null)]
    [InlineData("", null, null)]
    public void The_enhanced_status_code_is_read_from_the_start_of_the_reply(string reply, int? subject, int? detail) =>
        Assert.Equal(subject is null ? ((int, int)?)null : (subject.Value, detail!.Value), SmtpMailSender.EnhancedCode(reply));

    [Fact]
    public async Task A_5xx_for_the_sender_is_configuration_and_transient()
    {
        using var server = await SmtpTestServer.StartAsync();
        await server.RefuseSendersAsync("referrals@broker.test");
        using var sender = Sender(server.Port, pin: server.CertificateSha256);

        var failure = await Assert.ThrowsAsync<TransientDeliveryException>(() => sender.SendAsync(Mail, CancellationToken.None));

        Assert.Contains("Broker:Mail:From", failure.Message, StringComparison.Ordinal);
        Assert.Equal(1, (await server.RecordAsync()).RefusedSenders);
    }

    [Fact]
    public async Task A_refused_password_is_transient_and_no_message_tells_the_password()
    {
        const string wrong = "wrong-relay-password-5";
        using var server = await SmtpTestServer.StartAsync();
        using var sender = Sender(server.Port, password: wrong, pin: server.CertificateSha256);

        var failure = await Assert.ThrowsAsync<TransientDeliveryException>(() => sender.SendAsync(Mail, CancellationToken.None));

        Assert.DoesNotContain(wrong, failure.ToString(), StringComparison.Ordinal);
        Assert.Empty((await server.RecordAsync()).Received);
    }

    [Fact]
    public async Task A_wrong_pin_is_transient_and_sends_nothing()
    {
        using var server = await SmtpTestServer.StartAsync();
        using var sender = Sender(server.Port, pin: new string('0', 64));

        await Assert.ThrowsAsync<TransientDeliveryException>(() => sender.SendAsync(Mail, CancellationToken.None));

        Assert.Empty((await server.RecordAsync()).Received);
    }

    [Fact]
    public async Task No_relay_listening_is_transient()
    {
        // A port that was free a moment ago: nothing answers on it.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var sender = Sender(port);

        await Assert.ThrowsAsync<TransientDeliveryException>(() => sender.SendAsync(Mail, CancellationToken.None));
    }

    [Fact]
    public async Task A_relay_that_accepts_the_connection_and_never_answers_is_transient_once_the_timeout_passes()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accepted = listener.AcceptTcpClientAsync();
        using var sender = Sender(((IPEndPoint)listener.LocalEndpoint).Port, timeout: TimeSpan.FromSeconds(1));

        await Assert.ThrowsAsync<TransientDeliveryException>(() => sender.SendAsync(Mail, CancellationToken.None));

        (await accepted).Dispose();
    }

    [Fact]
    public async Task A_partner_address_that_is_a_list_is_not_split_into_recipients_and_is_a_refusal_for_good()
    {
        using var server = await SmtpTestServer.StartAsync();
        using var sender = Sender(server.Port, pin: server.CertificateSha256);

        var refused = await Assert.ThrowsAsync<PermanentDeliveryException>(
            () => sender.SendAsync(Mail with { To = "a@b.example>,<spy@evil.example" }, CancellationToken.None));

        Assert.DoesNotContain("spy@evil.example", refused.ToString(), StringComparison.Ordinal);
        Assert.Empty((await server.RecordAsync()).Received);
    }
}
