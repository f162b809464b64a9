using System.Text.Json.Serialization;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;

namespace ReferralBroker.Embedded;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    IgnoreReadOnlyProperties = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ReferralRecord))]
[JsonSerializable(typeof(IdempotencyRecord))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;
