using System.Text;
using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Logging.Abstractions;
using ReferralBroker.Azure.ServiceBus;
using ReferralBroker.Ports;

namespace ReferralBroker.Azure.Tests.ServiceBus;

/// <summary>The sender on the real SDK, judged by what the fake namespace received on the wire.</summary>
public sealed class ServiceBusReferralQueueTests : IAsyncLifetime, IDisposable
{
    private FakeServiceBus _bus = null!;
    private ServiceBusNamespace _namespace = null!;
    private ServiceBusReferralQueue _queue = null!;

    public async Task InitializeAsync()
    {
        _bus = await FakeServiceBus.StartAsync();
        _namespace = new ServiceBusNamespace(_bus.CreateOptions(), credential: null);
        _queue = new ServiceBusReferralQueue(_namespace, NullLogger<ServiceBusReferralQueue>.Instance);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        _namespace.Dispose();
        _bus.Dispose();
    }

    [Fact]
    public async Task A_dispatch_message_goes_to_the_topic_with_its_id_routing_properties_ttl_and_json_body()
    {
        var message = new DispatchMessage("ref_1", "ref_1", "demo-health", "health", "LINK-SECRET-1");

        await _queue.EnqueueAsync(message, CancellationToken.None);

        var sent = Assert.Single(await _bus.ReceivedAsync());
        Assert.Equal("referrals", sent.Entity);
        Assert.StartsWith("ref_1.", sent.MessageId, StringComparison.Ordinal);
        Assert.Equal("health", sent.Properties["category"]);
        Assert.Equal("demo-health", sent.Properties["partnerId"]);
        Assert.Equal("ref_1", sent.Properties["referralId"]);
        Assert.Equal((long)TimeSpan.FromDays(1).TotalMilliseconds, sent.TimeToLiveMs);
        Assert.Equal("application/json", sent.ContentType);
        Assert.Equal(message, DispatchMessageJson.Deserialize(sent.Body));
        Assert.Equal("accepted", sent.Outcome);
    }

    [Fact]
    public async Task The_topic_fans_out_by_category_and_a_category_without_a_subscription_lands_in_other()
    {
        foreach (var (id, category) in new[] { ("ref_h", "health"), ("ref_l", "legal"), ("ref_e", "employment"), ("ref_x", "housing") })
        {
            await _queue.EnqueueAsync(new DispatchMessage(id, id, "p", category, "S"), CancellationToken.None);
        }

        async Task<string[]> Ids(string subscription) =>
            [.. (await _bus.EntityAsync(FakeServiceBus.SubscriptionPath(subscription))).All.Select(m => m.Properties["referralId"]!)];
        Assert.Equal(["ref_h"], await Ids("health"));
        Assert.Equal(["ref_l"], await Ids("legal"));
        Assert.Equal(["ref_e"], await Ids("employment"));
        Assert.Equal(["ref_x"], await Ids("other"));
    }

    [Fact]
    public async Task A_refused_send_surfaces_as_a_service_bus_failure_and_stores_nothing()
    {
        await _bus.FailNextAsync("send", 1);

        await Assert.ThrowsAnyAsync<ServiceBusException>(() =>
            _queue.EnqueueAsync(new DispatchMessage("ref_f", "ref_f", "p", "health", "S"), CancellationToken.None));

        Assert.Empty((await _bus.EntityAsync(FakeServiceBus.SubscriptionPath("health"))).All);
    }

    [Fact]
    public async Task Each_send_of_a_referral_gets_its_own_message_id_so_a_retried_submission_is_not_dropped_as_a_duplicate()
    {
        var first = new DispatchMessage("ref_r", "ref_r", "p", "health", "SECRET-OF-ATTEMPT-1");
        var retry = first with { LinkSecret = "SECRET-OF-ATTEMPT-2" };

        await _queue.EnqueueAsync(first, CancellationToken.None);
        await _queue.EnqueueAsync(retry, CancellationToken.None);

        var held = (await _bus.EntityAsync(FakeServiceBus.SubscriptionPath("health"))).All.ToList();
        Assert.Equal(2, held.Count);
        Assert.Equal(["SECRET-OF-ATTEMPT-1", "SECRET-OF-ATTEMPT-2"], held.Select(m => DispatchMessageJson.Deserialize(m.Body)!.LinkSecret));
        Assert.NotEqual(held[0].MessageId, held[1].MessageId);
    }

    [Fact]
    public void Options_never_print_the_connection_string()
    {
        var options = new ServiceBusOptions { ConnectionString = "Endpoint=sb://x/;SharedAccessKeyName=k;SharedAccessKey=TOP-SECRET-KEY" };

        Assert.DoesNotContain("TOP-SECRET-KEY", options.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("TOP-SECRET-KEY", string.Join(' ', options.Validate()), StringComparison.Ordinal);
    }

    [Fact]
    public void A_namespace_without_a_credential_or_connection_string_is_refused_at_construction()
    {
        var options = new ServiceBusOptions { FullyQualifiedNamespace = "contoso.servicebus.windows.net" };

        Assert.Throws<ArgumentException>(() => new ServiceBusNamespace(options, credential: null));
    }

    [Theory]
    [InlineData("MessageTimeToLive", "00:00:00")]
    [InlineData("UnstoredReferralGrace", "2.00:00:00")]
    [InlineData("MaxMessagesPerDrain", "0")]
    [InlineData("MaxDrainDuration", "-00:00:01")]
    public void Invalid_settings_are_named(string setting, string value)
    {
        var options = new ServiceBusOptions { FullyQualifiedNamespace = "contoso.servicebus.windows.net" };
        var property = typeof(ServiceBusOptions).GetProperty(setting)!;
        property.SetValue(options, property.PropertyType == typeof(int) ? int.Parse(value, System.Globalization.CultureInfo.InvariantCulture)
            : TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture));

        Assert.Contains(options.Validate(), f => f.Contains(setting, StringComparison.Ordinal));
        Assert.Empty(new ServiceBusOptions { FullyQualifiedNamespace = "contoso.servicebus.windows.net" }.Validate());
    }
}
