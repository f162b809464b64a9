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
