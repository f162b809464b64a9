using Azure.Core;
using Azure.Data.Tables;
using ReferralBroker.Ports;

namespace ReferralBroker.Azure.TableStorage;

/// <summary>
/// Idempotency keys in Azure Table Storage, one entity per key hash. "Insert, and on conflict read what is there"
/// gives every concurrent request with the same key the same stored record.
/// </summary>
public sealed class TableIdempotencyStore : IIdempotencyStore
{
    private const int MaxAttempts = 3;
    private readonly EntityTable _table;

    public TableIdempotencyStore(TableStorageOptions options, TokenCredential? credential, TableClientOptions? clientOptions = null) =>
        _table = EntityTable.Create(options, TableKeys.IdempotencyTable(options.TablePrefix), credential, clientOptions);

    public async Task<IdempotencyRecord> GetOrAddAsync(IdempotencyRecord record, CancellationToken cancellationToken)
    {
        var entity = ToEntity(record);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (await _table.InsertAsync(entity, cancellationToken).ConfigureAwait(false) is not null)
            {
                return record;
            }

            if (await _table.GetAsync(entity.Key(), cancellationToken).ConfigureAwait(false) is { } existing)
            {
                return ToRecord(existing);
            }

            // Purged between our insert and our read: the key is free again.
        }

        throw new InvalidOperationException("The idempotency record kept disappearing while it was being stored.");
    }

    public async Task<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var client = await _table.ClientAsync(cancellationToken).ConfigureAwait(false);
        var purged = 0;
        await foreach (var entity in client.QueryAsync<TableEntity>(TableKeys.OnOrBefore(TableKeys.ExpiresAtProperty, now), cancellationToken: cancellationToken)
            .ConfigureAwait(false))
        {
            // The filter is only as exact as the service's clock arithmetic (Azurite compares milliseconds).
            if (entity.RequireDateTime(TableKeys.ExpiresAtProperty) > now)
            {
                continue;
            }

            // Conditional on the version we saw, so that a key re-added meanwhile survives.
            purged += await _table.DeleteAsync(entity.Key(), entity.ETag, cancellationToken).ConfigureAwait(false) == WriteOutcome.Written ? 1 : 0;
        }

        return purged;
    }

    private static TableEntity ToEntity(IdempotencyRecord record) =>
        TableEntities.New(TableKeys.Idempotency(record.KeyHash), [
            ("BodyFingerprint", record.BodyFingerprint),
            ("ReferralId", record.ReferralId),
            ("SealedResponse", record.SealedResponse),
            (TableKeys.ExpiresAtProperty, record.ExpiresAt),
        ]);

    private static IdempotencyRecord ToRecord(TableEntity entity) => new(
        entity.PartitionKey,
        entity.RequireString("BodyFingerprint"),
        entity.RequireString("ReferralId"),
        entity.RequireString("SealedResponse"),
        entity.RequireDateTime(TableKeys.ExpiresAtProperty));
}
