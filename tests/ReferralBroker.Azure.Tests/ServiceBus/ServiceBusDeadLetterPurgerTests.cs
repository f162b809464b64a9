using System.Globalization;
using System.Text.Json;
using Azure;
using Microsoft.Extensions.Time.Testing;
using ReferralBroker.Azure.ServiceBus;
using ReferralBroker.Ports;

namespace ReferralBroker.Azure.Tests.ServiceBus;

public sealed class ServiceBusDeadLetterPurgerTests
{
    internal const string KeyName = "broker-listen";
    internal const string Key = "bGlzdGVuLWtleS1mb3ItdGVzdHM=";
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Old_dead_letters_are_completed_and_their_referral_ids_returned_until_the_queue_answers_204()
    {
        var time = new FakeTimeProvider(Now);
        var dlq = new DeadLetterQueues(time, Key);
        dlq.Add("health", Dead("ref-1", Now.AddDays(-2), withReferralIdProperty: true));
        dlq.Add("health", Dead("ref-2", Now.AddDays(-1).AddMinutes(-1), withReferralIdProperty: false));
        using var stub = HttpStub.Start(dlq.Handle);
        var logger = new ListLogger<ServiceBusDeadLetterPurger>();

        var purged = await NewPurger(stub, time, Key, logger).PurgeExpiredAsync(CancellationToken.None);

        Assert.Equal(["ref-1", "ref-2"], purged);
        Assert.Empty(dlq.Remaining("health"));
        Assert.Empty(stub.HandlerErrors);
        var health = stub.Requests.Where(r => r.Path.Contains("/subscriptions/health/", StringComparison.Ordinal)).ToList();
        Assert.Equal(["POST", "DELETE", "POST", "DELETE", "POST"], health.Select(r => r.Method));
        Assert.All(health.Where(r => r.Method == "POST"),
            r => Assert.Equal("/referrals/subscriptions/health/$deadletterqueue/messages/head", r.Path));
        Assert.Equal(1, stub.Requests.Count(r => r.Path.Contains("/subscriptions/legal/", StringComparison.Ordinal)));
        Assert.Equal(1, stub.Requests.Count(r => r.Path.Contains("/subscriptions/employment/", StringComparison.Ordinal)));
        Assert.DoesNotContain("LINK-SECRET", logger.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Young_dead_letter_is_kept_and_unlocked_while_the_old_one_behind_it_is_purged()
    {
        var time = new FakeTimeProvider(Now);
        var dlq = new DeadLetterQueues(time, Key);
        dlq.Add("legal", Dead("ref-young", Now.AddHours(-3), withReferralIdProperty: true));
        dlq.Add("legal", Dead("ref-old", Now.AddDays(-3), withReferralIdProperty: true));
        using var stub = HttpStub.Start(dlq.Handle);

        var purged = await NewPurger(stub, time, Key).PurgeExpiredAsync(CancellationToken.None);

        Assert.Equal(["ref-old"], purged);
        var remaining = Assert.Single(dlq.Remaining("legal"));
        Assert.Equal("ref-young", remaining.ReferralId);
        Assert.Null(remaining.LockToken);
        Assert.Single(stub.Requests, r => r.Method == "PUT");
        Assert.Empty(stub.HandlerErrors);
    }

    [Fact]
    public async Task Purge_that_can_not_authenticate_anywhere_throws_request_failed_401()
    {
        var time = new FakeTimeProvider(Now);
        var dlq = new DeadLetterQueues(time, Key);
        dlq.Add("health", Dead("ref-1", Now.AddDays(-2), withReferralIdProperty: true));
        using var stub = HttpStub.Start(dlq.Handle);

        var ex = await Assert.ThrowsAsync<RequestFailedException>(
            () => NewPurger(stub, time, "wrong-key").PurgeExpiredAsync(CancellationToken.None));

        Assert.Equal(401, ex.Status);
        Assert.Single(dlq.Remaining("health"));
    }

    internal static DeadLetter Dead(string referralId, DateTimeOffset enqueued, bool withReferralIdProperty) =>
        new(referralId, enqueued, withReferralIdProperty,
            DispatchMessageJson.Serialize(new DispatchMessage(referralId, referralId, "partner-1", "health", $"LINK-SECRET-{referralId}")));

    private static ServiceBusDeadLetterPurger NewPurger(
        HttpStub stub, TimeProvider time, string key, ListLogger<ServiceBusDeadLetterPurger>? logger = null) =>
        new(
            new ServiceBusOptions { Endpoint = stub.BaseUri, SasKeyName = KeyName, SasKey = key },
            credential: null,
            time,
            logger ?? new ListLogger<ServiceBusDeadLetterPurger>(),
            ServiceBusReferralQueueTests.TestClientOptions());

    internal sealed class DeadLetter(string referralId, DateTimeOffset enqueued, bool withReferralIdProperty, byte[] body)
    {
        public string ReferralId { get; } = referralId;

        public DateTimeOffset Enqueued { get; } = enqueued;

        public bool WithReferralIdProperty { get; } = withReferralIdProperty;

        public byte[] Body { get; } = body;

        public long SequenceNumber { get; set; }

        public string? LockToken { get; set; }
    }

    /// <summary>Service Bus dead-letter sub-queues as far as the REST peek-lock protocol goes, SAS-checked.</summary>
    /// <summary>Service Bus dead-letter queues as the REST protocol shows them; also used by the hosting tests.</summary>
    internal sealed class DeadLetterQueues(TimeProvider time, string key)
    {
        private const string Prefix = "/referrals/subscriptions/";
        private readonly Dictionary<string, List<DeadLetter>> _queues = new(StringComparer.Ordinal);
        private long _sequence;

        public void Add(string subscription, DeadLetter message)
        {
            message.SequenceNumber = ++_sequence;
            Queue(subscription).Add(message);
        }

        public List<DeadLetter> Remaining(string subscription) => Queue(subscription);

        public StubResponse Handle(StubRequest request)
        {
            var host = request.Header("Host");
            if (!SasVerifier.IsValid(request.Header("Authorization"), $"http://{host}/referrals", KeyName, key, time.GetUtcNow()))
            {
                return new StubResponse(401);
            }

            if (!request.Path.StartsWith(Prefix, StringComparison.Ordinal))
            {
                return new StubResponse(404);
            }

            var parts = request.Path[Prefix.Length..].Split('/');
            // {sub}/$deadletterqueue/messages/head  or  {sub}/$deadletterqueue/messages/{seq}/{lockToken}
            if (parts.Length < 4 || parts[1] != "$deadletterqueue" || parts[2] != "messages")
            {
                return new StubResponse(404);
            }

            var queue = Queue(parts[0]);
            if (parts is [_, _, _, "head"] && request.Method == "POST")
            {
                Assert.Contains("timeout=", request.Query, StringComparison.Ordinal);
                var next = queue.FirstOrDefault(m => m.LockToken is null);
                if (next is null)
                {
                    return new StubResponse(204);
                }

                next.LockToken = Guid.NewGuid().ToString();
                var brokerProperties = JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["DeliveryCount"] = 10,
                    ["EnqueuedTimeUtc"] = next.Enqueued.ToString("r", CultureInfo.InvariantCulture),
                    ["LockToken"] = next.LockToken,
                    ["LockedUntilUtc"] = time.GetUtcNow().AddMinutes(1).ToString("r", CultureInfo.InvariantCulture),
                    ["MessageId"] = next.ReferralId,
                    ["SequenceNumber"] = next.SequenceNumber,
                    ["State"] = "Active",
                    ["TimeToLive"] = 86400,
                });
                var headers = new Dictionary<string, string>
                {
                    ["BrokerProperties"] = brokerProperties,
                    ["Location"] = $"http://{host}{Prefix}{parts[0]}/$deadletterqueue/messages/{next.SequenceNumber}/{next.LockToken}",
                    ["Content-Type"] = "application/json",
                    ["category"] = "\"health\"",
                };
                if (next.WithReferralIdProperty)
                {
                    headers["referralId"] = $"\"{next.ReferralId}\"";
                }

                return new StubResponse(201, next.Body, headers);
            }

            if (parts.Length == 5)
            {
                var locked = queue.FirstOrDefault(m =>
                    m.SequenceNumber.ToString(CultureInfo.InvariantCulture) == parts[3] && m.LockToken == parts[4]);
                if (locked is null)
                {
                    return new StubResponse(404);
                }

                switch (request.Method)
                {
                    case "DELETE":
                        queue.Remove(locked);
                        return new StubResponse(200);
                    case "PUT":
                        locked.LockToken = null;
                        return new StubResponse(200);
                }
            }

            return new StubResponse(405);
        }

        private List<DeadLetter> Queue(string subscription) =>
            _queues.TryGetValue(subscription, out var queue) ? queue : _queues[subscription] = [];
    }
}
