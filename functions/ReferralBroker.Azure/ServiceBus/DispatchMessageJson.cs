using System.Text.Json;
using System.Text.Json.Serialization;
using ReferralBroker.Ports;

namespace ReferralBroker.Azure.ServiceBus;

/// <summary>What the broker sends in the <c>BrokerProperties</c> header (PascalCase, as Service Bus expects).</summary>
internal sealed record OutgoingBrokerProperties(string MessageId, long TimeToLive, string ContentType);

/// <summary>The parts of a received message's <c>BrokerProperties</c> the purger needs; the rest is ignored.</summary>
internal sealed record ReceivedBrokerProperties(
    string? MessageId,
    long? SequenceNumber,
    string? LockToken,
    string? EnqueuedTimeUtc);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OutgoingBrokerProperties))]
[JsonSerializable(typeof(ReceivedBrokerProperties))]
[JsonSerializable(typeof(string))]
internal sealed partial class ServiceBusWireJson : JsonSerializerContext;
