using Microsoft.Extensions.Time.Testing;
using ReferralBroker.Azure.ServiceBus;
using ReferralBroker.Ports;

namespace ReferralBroker.Azure.Tests.ServiceBus;

/// <summary>The dead-letter purge on the real SDK, reading each subscription's <c>$DeadLetterQueue</c> on the fake namespace.</summary>
public sealed class ServiceBusDeadLetterPurgerTests : IAsyncLifetime, IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Now);
    private FakeServiceBus _bus = null!;
    private ServiceBusNamespace _namespace = null!;

    public async Task InitializeAsync()
    {
        _bus = await FakeServiceBus.StartAsync();
        _namespace = new ServiceBusNamespace(_bus.CreateOptions(), credential: null);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        _namespace.Dispose();
        _bus.Dispose();
    }

    [Fact]
    public async Task Dead_letters_older_than_the_ttl_are_purged_and_their_referral_ids_returned_while_younger_ones_are_kept_unlocked()
    {
        await DeadAsync("health", "ref-young", Now.AddHours(-3));
        await DeadAsync("health", "ref-old", Now.AddDays(-2));
        await DeadAsync("legal", "ref-legal", Now.AddDays(-1).AddMinutes(-1), withReferralIdProperty: false);
        var logger = new ListLogger<ServiceBusDeadLetterPurger>();

        var purged = await new ServiceBusDeadLetterPurger(_namespace, _time, logger).PurgeExpiredAsync(CancellationToken.None);

        Assert.Equal(["ref-old", "ref-legal"], purged);
        var kept = await _bus.EntityAsync(FakeServiceBus.DeadLetterPath("health"));
        Assert.Equal("ref-young", Assert.Single(kept.Available).Properties["referralId"]);
        Assert.Empty(kept.Locked);
        Assert.Empty((await _bus.EntityAsync(FakeServiceBus.DeadLetterPath("legal"))).All);
        Assert.DoesNotContain("LINK-SECRET", logger.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_purge_run_takes_at_most_the_configured_number_of_dead_letters_per_subscription()
    {
        for (var i = 0; i < 5; i++)
        {
            await DeadAsync("employment", $"ref-{i}", Now.AddDays(-3));
        }

        var options = _bus.CreateOptions();
        options.MaxDeadLettersPerRun = 3;
        options.ReceiveBatchSize = 2;
        using var bus = new ServiceBusNamespace(options, credential: null);

        Assert.Equal(3, (await new ServiceBusDeadLetterPurger(bus, _time, new ListLogger<ServiceBusDeadLetterPurger>()).PurgeExpiredAsync(CancellationToken.None)).Count);
        Assert.Equal(2, (await _bus.EntityAsync(FakeServiceBus.DeadLetterPath("employment"))).All.Count());
    }

    [Fact]
    public async Task Nothing_dead_lettered_purges_nothing()
    {
        Assert.Empty(await new ServiceBusDeadLetterPurger(_namespace, _time, new ListLogger<ServiceBusDeadLetterPurger>()).PurgeExpiredAsync(CancellationToken.None));
    }

    private Task DeadAsync(string subscription, string referralId, DateTimeOffset enqueued, bool withReferralIdProperty = true)
    {
        var properties = new Dictionary<string, string> { ["category"] = subscription, ["DeadLetterReason"] = "MaxDeliveryCountExceeded" };
        if (withReferralIdProperty)
        {
            properties["referralId"] = referralId;
        }

        return _bus.InjectAsync(FakeServiceBus.DeadLetterPath(subscription), $"{referralId}.1",
            DispatchMessageJson.Serialize(new DispatchMessage(referralId, referralId, "partner-1", subscription, $"LINK-SECRET-{referralId}")),
            properties, enqueued);
    }
}
