using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ReferralBroker.Embedded.Mail;
using ReferralBroker.Hosting;
using ReferralBroker.Ports;

namespace ReferralBroker.Tests.Mail;

/// <summary>
/// The SMTP sender keeps a few authenticated connections and sends many emails on each, against the real SMTP server
/// (which counts the connections it accepted): every email still reaches the relay exactly once when the relay drops an
/// idle connection, answers 4xx, refuses one recipient, or gets many emails at once.
/// </summary>
public sealed class SmtpConnectionPoolTests
{
    private static OutgoingMail Mail(int i) => new($"intake{i}@health.example.org", "A new referral is waiting for you",
        $"Open https://broker.test/partner/ref_{i:D4}#secret", "<p>Open</p>", $"ref_{i:D4}");

    private static SmtpMailSender Sender(SmtpTestServer server, TimeProvider? time = null, int maxConnections = 4) => new(
        new MailOptions
        {
            From = "referrals@broker.test",
            Smtp = new SmtpOptions
            {
                Host = "127.0.0.1",
                Port = server.Port,
                UserName = SmtpTestServer.UserName,
                Password = SmtpTestServer.Password,
                CertificateSha256 = server.CertificateSha256,
                MaxConnections = maxConnections,
            },
        },
        time ?? TimeProvider.System, NullLogger<SmtpMailSender>.Instance);

    private static void AssertEachOnce(SmtpRecord record, IEnumerable<int> sent)
    {
        var expected = sent.Select(i => Mail(i).To).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expected, record.Received.Select(r => Assert.Single(r.To)).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task Emails_sent_one_after_another_share_one_authenticated_encrypted_connection()
    {
        using var server = await SmtpTestServer.StartAsync();
        using var sender = Sender(server);

        for (var i = 0; i < 12; i++)
        {
            await sender.SendAsync(Mail(i), CancellationToken.None);
        }

        var record = await server.RecordAsync();
        AssertEachOnce(record, Enumerable.Range(0, 12));
        Assert.Equal(1, record.Connections);
        Assert.All(record.Received, r => Assert.True(r.Secure && r.User == SmtpTestServer.UserName));
    }

    [Fact]
    public async Task Emails_sent_in_parallel_each_arrive_once_over_at_most_MaxConnections()
    {
        using var server = await SmtpTestServer.StartAsync();
        using var sender = Sender(server, maxConnections: 3);

        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => sender.SendAsync(Mail(i), CancellationToken.None))));

        var record = await server.RecordAsync();
        AssertEachOnce(record, Enumerable.Range(0, 40));
        Assert.InRange(record.Connections, 1, 3);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_relay_that_closed_an_idle_connection_costs_one_reconnect_and_the_next_email_arrives_once(bool withReply)
    {
        using var server = await SmtpTestServer.StartAsync();
        using var sender = Sender(server);
        await sender.SendAsync(Mail(1), CancellationToken.None);

        await server.DropConnectionsAsync(withReply);
        await sender.SendAsync(Mail(2), CancellationToken.None);
        await sender.SendAsync(Mail(3), CancellationToken.None);

        var record = await server.RecordAsync();
        AssertEachOnce(record, [1, 2, 3]);
        Assert.Equal(2, record.Connections);
    }

    [Fact]
    public async Task A_connection_unused_for_the_idle_time_is_closed_and_the_next_email_opens_a_new_one()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var server = await SmtpTestServer.StartAsync();
        using var sender = Sender(server, time);
        await sender.SendAsync(Mail(1), CancellationToken.None);

        // Less than the idle time: the same connection.
        time.Advance(SmtpMailSender.IdleTimeout - TimeSpan.FromSeconds(1));
        await sender.SendAsync(Mail(2), CancellationToken.None);
        Assert.Equal(1, (await server.RecordAsync()).Connections);

        time.Advance(SmtpMailSender.IdleTimeout + TimeSpan.FromSeconds(1));
        await sender.SendAsync(Mail(3), CancellationToken.None);

        var record = await server.RecordAsync();
        AssertEachOnce(record, [1, 2, 3]);
        Assert.Equal(2, record.Connections);
    }

    [Fact]
    public async Task A_4xx_in_the_middle_of_a_connection_is_transient_and_the_next_email_arrives_once()
    {
        using var server = await SmtpTestServer.StartAsync();
        using var sender = Sender(server);
        await sender.SendAsync(Mail(1), CancellationToken.None);

        await server.FailNextAsync(1);
        await Assert.ThrowsAsync<TransientDeliveryException>(() => sender.SendAsync(Mail(2), CancellationToken.None));
        await sender.SendAsync(Mail(3), CancellationToken.None);
        await sender.SendAsync(Mail(4), CancellationToken.None);

        var record = await server.RecordAsync();
        AssertEachOnce(record, [1, 3, 4]);
        Assert.Equal(1, record.TemporaryFailures);
        // The connection that failed was replaced, not reused: one more, and only one.
        Assert.Equal(2, record.Connections);
    }

    [Fact]
    public async Task A_5xx_for_one_recipient_is_a_refusal_for_good_of_that_email_only()
    {
        using var server = await SmtpTestServer.StartAsync();
        using var sender = Sender(server);
        await sender.SendAsync(Mail(1), CancellationToken.None);

        await server.RefuseAsync(Mail(2).To);
        var refused = await Assert.ThrowsAsync<SmtpRefusedException>(() => sender.SendAsync(Mail(2), CancellationToken.None));
        await sender.SendAsync(Mail(3), CancellationToken.None);
        await sender.SendAsync(Mail(4), CancellationToken.None);

        Assert.Equal(550, refused.Status);
        var record = await server.RecordAsync();
        AssertEachOnce(record, [1, 3, 4]);
        Assert.Equal(1, record.RefusedRecipients);
        Assert.Equal(2, record.Connections);
    }
}
