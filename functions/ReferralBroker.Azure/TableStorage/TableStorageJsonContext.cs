using System.Text.Json.Serialization;

namespace ReferralBroker.Azure.TableStorage;

/// <summary>One entry of a record's history as stored in its History property; the status is its wire name.</summary>
internal sealed record StoredStatusChange(
    [property: JsonPropertyName("s")] string Status,
    [property: JsonPropertyName("at")] DateTimeOffset At);

/// <summary>A notification the organisation is still owed, as stored in the record's Notifications property.</summary>
internal sealed record StoredNotification(
    [property: JsonPropertyName("id")] string EventId,
    [property: JsonPropertyName("e")] string Event,
    [property: JsonPropertyName("at")] DateTimeOffset At,
    [property: JsonPropertyName("mail")] bool EmailSent,
    [property: JsonPropertyName("hook")] bool WebhookSent,
    [property: JsonPropertyName("n")] int Attempts,
    [property: JsonPropertyName("next")] DateTimeOffset NextAttemptAt);

internal sealed record CreateTableBody(string TableName);

[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Default)]
[JsonSerializable(typeof(List<StoredStatusChange>))]
[JsonSerializable(typeof(List<StoredNotification>))]
[JsonSerializable(typeof(CreateTableBody))]
internal sealed partial class TableStorageJsonContext : JsonSerializerContext;
