using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using ReferralBroker.Azure.ServiceBus;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Azure.Tests.ServiceBus;

/// <summary>
/// The fake Service Bus namespace (<c>fake-servicebus.js</c>, AMQP 1.0 on the npm package rhea) in a node process of
/// its own, on free loopback ports, for the real Azure.Messaging.ServiceBus SDK to talk to. Its control channel
/// (HTTP on loopback) tells what it was sent and what each entity holds, sets its clock and injects faults.
/// </summary>
public sealed class FakeServiceBus : IAsyncDisposable, IDisposable
{
    public const string Topic = "referrals";
    private readonly NodeScript _node;

    private FakeServiceBus(NodeScript node)
    {
        _node = node;
        AmqpPort = node.Ports.GetProperty("amqpPort").GetInt32();
    }

    public int AmqpPort { get; }

    /// <summary>Any base64 key will do: the fake accepts every token (it checks the CBS exchange, not the signature).</summary>
    public string ConnectionString =>
        $"Endpoint=sb://127.0.0.1:{AmqpPort};SharedAccessKeyName=k;SharedAccessKey={Convert.ToBase64String("fake-key"u8)};UseDevelopmentEmulator=true";

    public static string SubscriptionPath(string subscription) => $"{Topic}/Subscriptions/{subscription}";

    public static string DeadLetterPath(string subscription) => $"{SubscriptionPath(subscription)}/$DeadLetterQueue";

    /// <summary>Options for the broker's adapters against this fake: SDK retries off, so injected faults reach our code.</summary>
    public ServiceBusOptions CreateOptions() => new()
    {
        ConnectionString = ConnectionString,
        TopicName = Topic,
        MaxRetries = 0,
        RetryDelay = TimeSpan.FromMilliseconds(10),
        ReceiveWaitTime = TimeSpan.FromMilliseconds(500),
        DeadLetterReceiveTimeout = TimeSpan.FromMilliseconds(500),
    };

    public static async Task<FakeServiceBus> StartAsync() =>
        new(await NodeScript.StartAsync("rhea", Path.Combine("tests", "ReferralBroker.Azure.Tests", "ServiceBus", "fake-servicebus.js")));

    public async Task<IReadOnlyList<WireMessage>> ReceivedAsync()
    {
        var record = await _node.RecordAsync();
        return [.. record.GetProperty("received").EnumerateArray().Select(WireMessage.From)];
    }

    /// <summary>
    /// How many of each operation the namespace was asked for since it started: <c>send</c>, <c>receive</c> (a flow
    /// granting credit: one SDK receive call), <c>drain</c>, <c>delivered</c>, <c>complete</c>, <c>abandon</c>,
    /// <c>deadLetter</c>, <c>release</c>, <c>senderLinks</c>, <c>receiverLinks</c> and <c>cbsTokens</c>.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, int>> OperationsAsync()
    {
        var operations = (await _node.RecordAsync()).GetProperty("operations");
        return operations.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32(), StringComparer.Ordinal);
    }

    public async Task<InjectedFaults> InjectedAsync()
    {
        var injected = (await _node.RecordAsync()).GetProperty("injected");
        return new InjectedFaults(injected.GetProperty("send").GetInt32(), injected.GetProperty("sendAfterStore").GetInt32(), injected.GetProperty("complete").GetInt32());
    }

    /// <summary>What an entity holds now: messages waiting, and messages locked by a receiver.</summary>
    public async Task<EntityContents> EntityAsync(string path)
    {
        var entity = await _node.Control.GetFromJsonAsync<JsonElement>($"entity?path={Uri.EscapeDataString(path)}");
        return new EntityContents(
            [.. entity.GetProperty("available").EnumerateArray().Select(HeldMessage.From)],
            [.. entity.GetProperty("locked").EnumerateArray().Select(HeldMessage.From)]);
    }

    /// <summary>Freezes the enqueue clock (dead letters keep their enqueue time: this is how tests make one old).</summary>
    public Task SetClockAsync(DateTimeOffset now) => PostAsync("clock", new JsonObject { ["now"] = now.ToString("O") });

    /// <summary>Fails the next <paramref name="count"/> operations of a kind: "send", "sendAfterStore" (stored, answer lost), "complete".</summary>
    public Task FailNextAsync(string kind, int count) => PostAsync("faults", new JsonObject { ["next"] = new JsonObject { [kind] = count } });

    public Task SetFaultRatesAsync(int seed, double send, double sendAfterStore, double complete) => PostAsync("faults", new JsonObject
    {
        ["seed"] = seed,
        ["rates"] = new JsonObject { ["send"] = send, ["sendAfterStore"] = sendAfterStore, ["complete"] = complete },
    });

    public Task ConfigureAsync(int maxDeliveryCount, int lockDurationMs = 60_000) =>
        PostAsync("reset", new JsonObject { ["maxDeliveryCount"] = maxDeliveryCount, ["lockDurationMs"] = lockDurationMs });

    /// <summary>Puts a message straight into an entity, as if it had arrived (and been dead-lettered) long ago.</summary>
    public Task InjectAsync(string path, string messageId, byte[] body, IReadOnlyDictionary<string, string> properties, DateTimeOffset enqueuedAt) =>
        PostAsync("inject", new JsonObject
        {
            ["path"] = path,
            ["messageId"] = messageId,
            ["body"] = Convert.ToBase64String(body),
            ["applicationProperties"] = new JsonObject(properties.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
            ["enqueuedAt"] = enqueuedAt.ToString("O"),
        });

    public async ValueTask DisposeAsync()
    {
        Dispose();
        await Task.CompletedTask;
    }

    public void Dispose() => _node.Dispose();

    private async Task PostAsync(string path, JsonObject body)
    {
        using var response = await _node.Control.PostAsJsonAsync(path, body);
        response.EnsureSuccessStatusCode();
    }
}

/// <summary>One message as the fake received it from a client.</summary>
public sealed record WireMessage(
    string Entity, string? MessageId, IReadOnlyDictionary<string, string?> Properties, long? TimeToLiveMs, string? ContentType, byte[] Body,
    bool Duplicate, string Outcome)
{
    public static WireMessage From(JsonElement e) => new(
        e.GetProperty("entity").GetString()!,
        e.GetProperty("messageId").GetString(),
        e.GetProperty("applicationProperties").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : p.Value.GetRawText()),
        e.GetProperty("ttl").ValueKind == JsonValueKind.Number ? e.GetProperty("ttl").GetInt64() : null,
        e.GetProperty("contentType").GetString(),
        Convert.FromBase64String(e.GetProperty("body").GetString()!),
        e.GetProperty("duplicate").GetBoolean(),
        e.GetProperty("outcome").GetString()!);
}

/// <summary>A message an entity holds; <see cref="DeliveryCount"/> counts failed deliveries (AMQP's header field).</summary>
public sealed record HeldMessage(string? MessageId, long SequenceNumber, int DeliveryCount, IReadOnlyDictionary<string, string?> Properties, byte[] Body)
{
    public static HeldMessage From(JsonElement e) => new(
        e.GetProperty("messageId").GetString(),
        e.GetProperty("sequenceNumber").GetInt64(),
        e.GetProperty("deliveryCount").GetInt32(),
        e.GetProperty("applicationProperties").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : p.Value.GetRawText()),
        Convert.FromBase64String(e.GetProperty("body").GetString()!));
}

public sealed record EntityContents(IReadOnlyList<HeldMessage> Available, IReadOnlyList<HeldMessage> Locked)
{
    public IEnumerable<HeldMessage> All => Available.Concat(Locked);
}

public sealed record InjectedFaults(int Send, int SendAfterStore, int Complete);
