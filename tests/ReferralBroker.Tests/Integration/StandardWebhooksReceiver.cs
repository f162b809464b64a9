using System.Text.Json;
using System.Text.Json.Nodes;

namespace ReferralBroker.Tests.Integration;

/// <summary>
/// An organisation's webhook receiver in a node process of its own (<c>standard-webhooks-receiver.js</c>) that
/// verifies every delivery with the Standard Webhooks reference library for JavaScript (npm <c>standardwebhooks</c>),
/// once per "holder" (a receiver holding one secret), and records each verdict. Its clock is set to the broker's fake
/// time, since the library checks the timestamp against its own.
/// </summary>
public sealed class StandardWebhooksReceiver : IDisposable
{
    private readonly NodeScript _node;

    private StandardWebhooksReceiver(NodeScript node)
    {
        _node = node;
        Url = new Uri($"http://127.0.0.1:{node.Ports.GetProperty("hookPort").GetInt32()}/hook");
    }

    public Uri Url { get; }

    public static async Task<StandardWebhooksReceiver> StartAsync() =>
        new(await NodeScript.StartAsync("standardwebhooks", Path.Combine("tests", "ReferralBroker.Tests", "Integration", "standard-webhooks-receiver.js")));

    /// <summary>Who verifies each delivery from now on: a name for each receiver and the one secret it holds.</summary>
    public Task HoldersAsync(params (string Name, string Secret)[] holders)
    {
        var map = new JsonObject();
        foreach (var (name, secret) in holders)
        {
            map[name] = secret;
        }

        return ScriptAsync(new JsonObject { ["holders"] = map });
    }

    /// <summary>The receiver's clock (the library's Date.now) reads <paramref name="now"/> from now on.</summary>
    public Task ClockAsync(DateTimeOffset now) => ScriptAsync(new JsonObject { ["clock"] = now.ToUnixTimeMilliseconds() });

    /// <summary>The next <paramref name="count"/> verified deliveries are answered 500.</summary>
    public Task FailNextAsync(int count) => ScriptAsync(new JsonObject { ["failNext"] = count });

    public async Task<IReadOnlyList<VerifiedDelivery>> DeliveriesAsync()
    {
        var record = await _node.RecordAsync();
        return [.. record.GetProperty("deliveries").EnumerateArray().Select(VerifiedDelivery.Read)];
    }

    public void Dispose() => _node.Dispose();

    private Task ScriptAsync(JsonObject body) => _node.ScriptAsync(body);
}

/// <summary>One request as the receiver got it, and what each holder's <c>Webhook.verify</c> said ("verified" or "refused: …").</summary>
public sealed record VerifiedDelivery(
    string Id, string Timestamp, string Signature, IReadOnlyList<string> OtherHeaders, string Body, IReadOnlyDictionary<string, string> Verdicts, int Status)
{
    public bool VerifiedBy(string holder) => Verdicts.GetValueOrDefault(holder) == "verified";

    public string? EventId => JsonDocument.Parse(Body).RootElement.GetProperty("eventId").GetString();

    public static VerifiedDelivery Read(JsonElement e)
    {
        var headers = e.GetProperty("headers");
        return new VerifiedDelivery(
            headers.GetProperty("webhook-id").GetString() ?? "",
            headers.GetProperty("webhook-timestamp").GetString() ?? "",
            headers.GetProperty("webhook-signature").GetString() ?? "",
            [.. e.GetProperty("otherHeaders").EnumerateArray().Select(h => h.GetString()!)],
            e.GetProperty("body").GetString()!,
            e.GetProperty("verdicts").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
            e.GetProperty("status").GetInt32());
    }
}
