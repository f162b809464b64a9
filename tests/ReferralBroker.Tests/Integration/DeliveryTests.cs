using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using ReferralBroker.Embedded;

namespace ReferralBroker.Tests.Integration;

public sealed class DeliveryTests
{
    [Fact]
    public async Task A_redelivered_message_does_not_email_the_partner_twice()
    {
        using var app = new BrokerApp();
        var submitted = await app.SubmitAsync();
        var queue = app.Services.GetRequiredService<SqliteReferralQueue>();
        var dispatcher = app.Services.GetRequiredService<Referrals.ReferralDispatcher>();

        // The dispatcher emails and marks delivery, then "crashes" before the message is completed.
        var leased = await queue.TryReceiveAsync(CancellationToken.None);
        Assert.NotNull(leased);
        await dispatcher.DispatchAsync(leased.Message, CancellationToken.None);
        Assert.Null(await queue.TryReceiveAsync(CancellationToken.None));

        app.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, await app.DispatchAsync());
        Assert.Single(app.Outbox());
        Assert.Equal(0, await app.DispatchAsync());
        Assert.Equal("delivered", (await app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_referral_queued_before_a_crash_is_dispatched_after_restart()
    {
        var dataPath = Directory.CreateTempSubdirectory("broker-restart-").FullName;
        Submitted submitted;
        using (var before = new BrokerApp(dataPath))
        {
            submitted = await before.SubmitAsync();
            Assert.Empty(before.Outbox());
        }

        using var after = new BrokerApp(dataPath, runDispatcher: true);
        _ = after.Server; // starts the host and its background dispatcher
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (after.Outbox().Length == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        var link = after.LinkFor(submitted.ReferralId);
        Assert.Equal(HttpStatusCode.OK, (await after.Partner(link).PostAsync($"/api/partner/referrals/{link.ReferralId}/accept", null)).StatusCode);
        // The pepper survived the restart too: the client's token still works.
        Assert.Equal("accepted", (await after.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Expired_queue_messages_are_dropped_so_their_link_secret_does_not_linger()
    {
        using var app = new BrokerApp();
        await app.SubmitAsync();
        app.Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await app.SweepAsync();
        Assert.Equal(0, await app.DispatchAsync());
        Assert.Empty(app.Outbox());
    }

    [Fact]
    public async Task A_failing_mail_sender_leaves_the_message_for_a_later_retry()
    {
        using var app = new BrokerApp();
        var submitted = await app.SubmitAsync();
        Directory.CreateDirectory(app.DataPath);
        await File.WriteAllTextAsync(app.OutboxPath, "a file where the outbox folder should be");

        Assert.Equal(1, await app.DispatchAsync());
        Assert.Equal("submitted", (await app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());

        File.Delete(app.OutboxPath);
        app.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await app.DispatchAsync());
        Assert.Single(app.Outbox());
        Assert.Equal("delivered", (await app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
    }
}
