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

    private const int SchemaVersion = 1;

    public static TableEntity ToEntity(ReferralRecord record)
    {
        var entity = TableEntities.New(TableKeys.Record(record.ReferralId))
            .With("Schema", SchemaVersion)
            .With("ReferralId", record.ReferralId)
            .With("OrganisationId", record.OrganisationId)
            .With("PartnerId", record.PartnerId)
            .With("Category", WireNames.Of(record.Category))
            .With("ConsentObtainedBy", WireNames.Of(record.ConsentObtainedBy))
            .With("Status", WireNames.Of(record.Status))
            .With("CreatedAt", record.CreatedAt)
            .With("UpdatedAt", record.UpdatedAt)
            .With(TableKeys.ExpiresAtProperty, record.ExpiresAt)
            .With("TokenHash", record.TokenHash)
            .With("CapabilityHash", record.CapabilityHash)
            .With("History", JsonSerializer.Serialize(
                [.. record.History.Select(h => new StoredStatusChange(WireNames.Of(h.Status), h.At))],
                StoredPropertyJson.Default.ListStoredStatusChange))
            .With("SealedDeleteAt", record.SealedDeleteAt)
            .With("PurgeAt", record.PurgeAt)
            .With("DeclineReason", record.DeclineReason is { } reason ? WireNames.Of(reason) : null)
            .With("DeliveryFailed", record.DeliveryFailed ? 1 : 0)
            .With("Notifications", record.Notifications.Count == 0 ? null : JsonSerializer.Serialize(
                [.. record.Notifications.Select(n => new StoredNotification(n.EventId, n.Event, n.At, n.EmailSent, n.WebhookSent, n.Attempts, n.NextAttemptAt))],
                StoredPropertyJson.Default.ListStoredNotification))
            .With("DuressTokenHash", record.DuressTokenHash)
            .With("DuressUsedAt", record.DuressUsedAt)
            .With(TableKeys.DueAtProperty, TableKeys.DueAt(record));

        if (record.Sealed is { } sealedReferral)
        {
            entity.With("SealedV", sealedReferral.V).With("SealedNonce", sealedReferral.Nonce);
            var parts = sealedReferral.Ciphertext.Chunk(CiphertextPartLength).Select(p => new string(p)).ToList();
            entity.With("SealedCiphertext", parts.Count == 0 ? "" : parts[0]);
            for (var i = 1; i < parts.Count; i++)
            {
                entity.With(CiphertextPart(i), parts[i]);
            }

            if (parts.Count > 1)
            {
                entity.With("SealedCiphertextParts", parts.Count);
            }
        }

        return entity;
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
            DeclineReason = entity.ReadString("DeclineReason") is null
                ? null
                : Parse<DeclineReason>(entity, "DeclineReason", WireNames.TryParse),
            DeliveryFailed = entity.ReadInt32("DeliveryFailed") == 1,
            Notifications = ReadNotifications(entity),
            DuressTokenHash = entity.ReadString("DuressTokenHash"),
            DuressUsedAt = entity.ReadDateTime("DuressUsedAt"),
        };
    }

    /// <summary>
    /// The token index: only the referral id, and when the sweep should check that the record still exists (so an
    /// index left behind by a crash between two writes is removed at the latest when the record would be purged).
    /// </summary>
    public static TableEntity ToTokenIndex(string tokenHash, string referralId, DateTimeOffset checkAt) =>
        TableEntities.New(TableKeys.TokenIndex(tokenHash))
            .With("ReferralId", referralId)
            .With(TableKeys.DueAtProperty, checkAt);

    /// <summary>
    /// The organisation index: the referral id, its creation time and category (which never change), and when the
    /// sweep should check that the record still exists.
    /// </summary>
    public static TableEntity ToOrganisationIndex(ReferralRecord record) =>
        TableEntities.New(TableKeys.OrganisationIndex(record.OrganisationId, record.CreatedAt, record.ReferralId))
            .With("ReferralId", record.ReferralId)
            .With("CreatedAt", record.CreatedAt)
            .With("Category", WireNames.Of(record.Category))
            .With(TableKeys.DueAtProperty, record.PurgeAt);

    public static TableEntity ToReportCounter(EntityKey key, Reports.ReportFact fact) =>
        TableEntities.New(key)
            .With("Month", fact.Month.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture))
            .With("OrganisationId", fact.OrganisationId)
            .With("Category", WireNames.Of(fact.Category))
            .With("Outcome", WireNames.Of(fact.Outcome))
            .With("HoursToAcceptance", fact.HoursToAcceptance is { } accepted ? accepted : -1)
            .With("HoursToCompletion", fact.HoursToCompletion is { } completed ? completed : -1)
            .With("Count", fact.Count);

    public static Reports.ReportFact ToReportFact(TableEntity counter) => new(
        DateOnly.ParseExact(counter.RequireString("Month") + "-01", "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        counter.RequireString("OrganisationId"),
        Parse<ServiceCategory>(counter, "Category", WireNames.TryParse),
        Parse<Reports.ReportOutcome>(counter, "Outcome", WireNames.TryParse),
        counter.RequireInt32("HoursToAcceptance") is var accepted and >= 0 ? accepted : null,
        counter.RequireInt32("HoursToCompletion") is var completed and >= 0 ? completed : null,
        counter.RequireInt32("Count"));

    private static string CiphertextPart(int index) => "SealedCiphertext" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static SealedReferral? ReadSealed(TableEntity entity)
    {
        if (entity.ReadInt32("SealedV") is not { } version)
        {
            return null;
        }

        var parts = entity.ReadInt32("SealedCiphertextParts") ?? 1;
        var ciphertext = entity.RequireString("SealedCiphertext");
        if (parts > 1)
        {
            ciphertext = string.Concat(Enumerable.Range(0, parts).Select(i => i == 0 ? ciphertext : entity.RequireString(CiphertextPart(i))));
        }

        return new SealedReferral(version, entity.RequireString("SealedNonce"), ciphertext);
    }

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
