using System.Text.Json.Serialization;

namespace ReferralBroker.Referrals;

/// <summary>
/// The one stored form of directory records, for every adapter (SQLite, Table Storage). Webhook secrets are kept
/// as given: the broker needs them to sign.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    IgnoreReadOnlyProperties = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OrganisationAccount))]
[JsonSerializable(typeof(Partner))]
[JsonSerializable(typeof(StaffCredential))]
public sealed partial class DirectoryRecordJson : JsonSerializerContext;
