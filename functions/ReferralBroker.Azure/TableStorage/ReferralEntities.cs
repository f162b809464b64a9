using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Azure.Data.Tables;
using ReferralBroker.Lifecycle;
using ReferralBroker.Referrals;
using ReferralBroker.Sealing;

namespace ReferralBroker.Azure.TableStorage;

/// <summary>
/// How a <see cref="ReferralRecord"/> and its token index look as entities. Enums are stored as their wire names so
/// that reordering an enum can never change what a stored record means.
/// </summary>
internal static class ReferralEntities
{
    /// <summary>
    /// A string property holds at most 64 KiB of UTF-16, so ciphertext is split into parts of this many characters;
    /// the sealed form of a 16 KiB request needs one part, larger ones stay possible up to the 1 MiB entity limit.
    /// </summary>
    public const int CiphertextPartLength = 30_000;

    /// <summary>Which create wrote the entity (see <see cref="TableReferralStore.TryCreateAsync"/>).</summary>
    public const string WriteIdProperty = "WriteId";

    private const int SchemaVersion = 1;

    public static TableEntity ToEntity(ReferralRecord record, string? writeId = null)
    {
        List<string> parts = record.Sealed is { } sealedReferral
            ? [.. sealedReferral.Ciphertext.Chunk(CiphertextPartLength).Select(p => new string(p)).DefaultIfEmpty("")]
            : [];
        return TableEntities.New(TableKeys.Record(record.ReferralId), [
            ("Schema", SchemaVersion),
            ("ReferralId", record.ReferralId),
            ("OrganisationId", record.OrganisationId),
            ("PartnerId", record.PartnerId),
            ("Category", WireNames.Of(record.Category)),
            ("ConsentObtainedBy", WireNames.Of(record.ConsentObtainedBy)),
            ("Status", WireNames.Of(record.Status)),
            ("CreatedAt", record.CreatedAt),
            ("UpdatedAt", record.UpdatedAt),
            (TableKeys.ExpiresAtProperty, record.ExpiresAt),
            ("TokenHash", record.TokenHash),
            ("CapabilityHash", record.CapabilityHash),
            ("History", JsonSerializer.Serialize(
                [.. record.History.Select(h => new StoredStatusChange(WireNames.Of(h.Status), h.At))],
                StoredPropertyJson.Default.ListStoredStatusChange)),
            ("SealedDeleteAt", record.SealedDeleteAt),
            ("PurgeAt", record.PurgeAt),
            ("DeclineReason", record.DeclineReason is { } reason ? WireNames.Of(reason) : null),
            ("DeliveryFailed", record.DeliveryFailed ? 1 : 0),
            ("Notifications", record.Notifications.Count == 0 ? null : JsonSerializer.Serialize(
                [.. record.Notifications.Select(n => new StoredNotification(n.EventId, n.Event, n.At, n.EmailSent, n.WebhookSent, n.Attempts, n.NextAttemptAt))],
                StoredPropertyJson.Default.ListStoredNotification)),
            ("DuressTokenHash", record.DuressTokenHash),
            ("DuressUsedAt", record.DuressUsedAt),
            (TableKeys.DueAtProperty, TableKeys.DueAt(record)),
            ("SealedV", record.Sealed?.V),
            ("SealedNonce", record.Sealed?.Nonce),
            ("SealedCiphertextParts", parts.Count > 1 ? parts.Count : null),
            .. parts.Select((part, i) => (CiphertextPart(i), (object?)part)),
            (WriteIdProperty, writeId),
        ]);
    }

    public static ReferralRecord ToRecord(TableEntity entity)
    {
        var schema = entity.RequireInt32("Schema");
        if (schema != SchemaVersion)
        {
            throw new InvalidDataException($"Stored referral has schema {schema}; this version reads {SchemaVersion}.");
        }

        return new ReferralRecord
        {
            ReferralId = entity.RequireString("ReferralId"),
            OrganisationId = entity.RequireString("OrganisationId"),
            PartnerId = entity.RequireString("PartnerId"),
            Category = Parse<ServiceCategory>(entity, "Category", WireNames.TryParse),
            ConsentObtainedBy = Parse<ConsentMethod>(entity, "ConsentObtainedBy", WireNames.TryParse),
            Status = Parse<ReferralStatus>(entity, "Status", WireNames.TryParse),
            CreatedAt = entity.RequireDateTime("CreatedAt"),
            UpdatedAt = entity.RequireDateTime("UpdatedAt"),
            ExpiresAt = entity.RequireDateTime(TableKeys.ExpiresAtProperty),
            TokenHash = entity.RequireString("TokenHash"),
            CapabilityHash = entity.RequireString("CapabilityHash"),
            History = ReadHistory(entity),
            Sealed = ReadSealed(entity),
            SealedDeleteAt = entity.ReadDateTime("SealedDeleteAt"),
            PurgeAt = entity.RequireDateTime("PurgeAt"),
            DeclineReason = entity.ReadString("DeclineReason") is null ? null : Parse<DeclineReason>(entity, "DeclineReason", WireNames.TryParse),
            DeliveryFailed = entity.ReadInt32("DeliveryFailed") == 1,
            Notifications = ReadNotifications(entity),
            DuressTokenHash = entity.ReadString("DuressTokenHash"),
            DuressUsedAt = entity.ReadDateTime("DuressUsedAt"),
        };
    }

    /// <summary>
    /// The token index: only the referral id, which kind of token it indexes (<see cref="TokenKindProperty"/>, so that
    /// a duress lookup needs no record), and when the sweep should check that the record still exists (so an index
    /// left behind by a crash between two writes is removed at the latest when the record would be purged).
    /// </summary>
    public static TableEntity ToTokenIndex(string tokenHash, string referralId, DateTimeOffset checkAt, string? writeId = null, bool duress = false) =>
        TableEntities.New(TableKeys.TokenIndex(tokenHash), [
            ("ReferralId", referralId),
            (TokenKindProperty, duress ? DuressTokenKind : ClientTokenKind),
            (TableKeys.DueAtProperty, checkAt),
            (WriteIdProperty, writeId),
        ]);

    /// <summary>Absent from entries written before it existed: those are told apart by their record.</summary>
    public const string TokenKindProperty = "TokenKind";

    private const string ClientTokenKind = "client";
    private const string DuressTokenKind = "duress";

    public static bool IsDuressIndex(TableEntity index) =>
        string.Equals(index.ReadString(TokenKindProperty), DuressTokenKind, StringComparison.Ordinal);

    /// <summary>
    /// The organisation index: the referral id, its creation time and category (which never change), and when the
    /// sweep should check that the record still exists.
    /// </summary>
    public static TableEntity ToOrganisationIndex(ReferralRecord record) =>
        TableEntities.New(TableKeys.OrganisationIndex(record.OrganisationId, record.CreatedAt, record.ReferralId), [
            ("ReferralId", record.ReferralId),
            ("CreatedAt", record.CreatedAt),
            ("Category", WireNames.Of(record.Category)),
            (TableKeys.DueAtProperty, record.PurgeAt),
        ]);

    public static TableEntity ToReportCounter(EntityKey key, Reports.ReportFact fact) =>
        TableEntities.New(key, [
            ("Month", fact.Month.ToString("yyyy-MM", CultureInfo.InvariantCulture)),
            ("OrganisationId", fact.OrganisationId),
            ("Category", WireNames.Of(fact.Category)),
            ("Outcome", WireNames.Of(fact.Outcome)),
            ("HoursToAcceptance", fact.HoursToAcceptance ?? -1),
            ("HoursToCompletion", fact.HoursToCompletion ?? -1),
            ("Count", fact.Count),
        ]);

    public static Reports.ReportFact ToReportFact(TableEntity counter) => new(
        DateOnly.ParseExact(counter.RequireString("Month") + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture),
        counter.RequireString("OrganisationId"),
        Parse<ServiceCategory>(counter, "Category", WireNames.TryParse),
        Parse<Reports.ReportOutcome>(counter, "Outcome", WireNames.TryParse),
        counter.RequireInt32("HoursToAcceptance") is var accepted and >= 0 ? accepted : null,
        counter.RequireInt32("HoursToCompletion") is var completed and >= 0 ? completed : null,
        counter.RequireInt32("Count"));

    private static string CiphertextPart(int index) => "SealedCiphertext" + (index == 0 ? "" : index.ToString(CultureInfo.InvariantCulture));

    private static SealedReferral? ReadSealed(TableEntity entity) => entity.ReadInt32("SealedV") is { } version
        ? new SealedReferral(version, entity.RequireString("SealedNonce"), string.Concat(
            Enumerable.Range(0, entity.ReadInt32("SealedCiphertextParts") ?? 1).Select(i => entity.RequireString(CiphertextPart(i)))))
        : null;

    private static List<PendingNotification> ReadNotifications(TableEntity entity) =>
        entity.ReadString("Notifications") is { } json
            ? [.. (JsonSerializer.Deserialize(json, StoredPropertyJson.Default.ListStoredNotification) ?? [])
                .Select(n => new PendingNotification(n.EventId, n.Event, n.At, n.EmailSent, n.WebhookSent, n.Attempts, n.NextAttemptAt))]
            : [];

    private static List<StatusChange> ReadHistory(TableEntity entity)
    {
        var stored = JsonSerializer.Deserialize(entity.RequireString("History"), StoredPropertyJson.Default.ListStoredStatusChange)
            ?? throw new InvalidDataException("Stored referral has no history.");
        return [.. stored.Select(h => new StatusChange(Parse<ReferralStatus>(h.Status, "History", WireNames.TryParse), h.At))];
    }

    private delegate bool TryParser<T>(string? text, out T value);

    private static T Parse<T>(TableEntity entity, string name, TryParser<T> parse) => Parse(entity.RequireString(name), name, parse);

    private static T Parse<T>(string text, string name, TryParser<T> parse) =>
        parse(text, out var value) ? value : throw new InvalidDataException($"Stored property {name} holds an unknown value.");
}

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

/// <summary>The two list-valued properties of a record (Table Storage has no list type); the stored format, not the wire's.</summary>
[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Default)]
[JsonSerializable(typeof(List<StoredStatusChange>))]
[JsonSerializable(typeof(List<StoredNotification>))]
internal sealed partial class StoredPropertyJson : JsonSerializerContext;
