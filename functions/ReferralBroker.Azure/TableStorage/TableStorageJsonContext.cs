using System.Text.Json.Serialization;

namespace ReferralBroker.Azure.TableStorage;

/// <summary>One entry of a record's history as stored in its History property; the status is its wire name.</summary>
internal sealed record StoredStatusChange(
    [property: JsonPropertyName("s")] string Status,
    [property: JsonPropertyName("at")] DateTimeOffset At);

internal sealed record CreateTableBody(string TableName);

[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Default)]
[JsonSerializable(typeof(List<StoredStatusChange>))]
[JsonSerializable(typeof(CreateTableBody))]
internal sealed partial class TableStorageJsonContext : JsonSerializerContext;
