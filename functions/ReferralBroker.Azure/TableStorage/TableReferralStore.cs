using System.Runtime.CompilerServices;
using Azure;
using Azure.Core;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using ReferralBroker.Reports;

namespace ReferralBroker.Azure.TableStorage;

/// <summary>
/// The status records in Azure Table Storage. A record and the index of its token hash are two entities in two
/// partitions, so they are written in an order that never leaves a record unreachable by its token: index first
/// on create, record first on delete. The entity's ETag is the record's version.
/// </summary>
public sealed partial class TableReferralStore : IReferralStore, IReportSource
{
    private const int MaxIndexAttempts = 3;
    private const int MaxScannedPerItem = 5;
    private const int MaxCounterAttempts = 10;
    private const int MaxRememberedPurges = 10_000;
    private readonly EntityTable _table;

    /// <summary>
    /// The records the due scan found ready to purge, with the version it read. A delete of that very version needs
    /// no read for the keys of the record's indexes: the delete is conditional on that version, so when it succeeds
    /// the record it removed is the one remembered. Any other version is read first, as before.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Versioned<ReferralRecord>> _duePurges = new(StringComparer.Ordinal);
    private readonly ILogger _logger;

    public TableReferralStore(
        TableStorageOptions options,
        TokenCredential? credential,
        TableClientOptions? clientOptions = null,
        ILogger<TableReferralStore>? logger = null)
    {
        _table = EntityTable.Create(options, TableKeys.ReferralsTable(options.TablePrefix), credential, clientOptions);
        _logger = logger ?? NullLogger<TableReferralStore>.Instance;
    }

    public async Task<bool> TryCreateAsync(ReferralRecord record, CancellationToken cancellationToken)
    {
        // Marks both entities as written by this call. An insert whose response was lost is retried by the
        // pipeline and then answers "already exists" for our own entity; the mark tells that apart from a rival.
        var writeId = Guid.NewGuid().ToString("N");
        var index = ReferralEntities.ToTokenIndex(record.TokenHash, record.ReferralId, record.PurgeAt, writeId);
        var entity = ReferralEntities.ToEntity(record, writeId);
        var indexETag = await InsertTokenIndexAsync(index, record.ReferralId, writeId, cancellationToken).ConfigureAwait(false);
        if (record.DuressTokenHash is { } duressHash)
        {
            var duressIndex = ReferralEntities.ToTokenIndex(duressHash, record.ReferralId, record.PurgeAt, writeId, duress: true);
            await InsertTokenIndexAsync(duressIndex, record.ReferralId, writeId, cancellationToken).ConfigureAwait(false);
        }

        // Already there means an earlier attempt of this same create wrote it: its key holds the id and creation time.
        await _table.InsertAsync(ReferralEntities.ToOrganisationIndex(record), cancellationToken).ConfigureAwait(false);

        if (await _table.InsertAsync(entity, cancellationToken).ConfigureAwait(false) is not null)
        {
            return true;
        }

        var existing = await _table.GetAsync(entity.Key(), cancellationToken).ConfigureAwait(false);
        if (existing?.ReadString(ReferralEntities.WriteIdProperty) == writeId)
        {
            return true;
        }

        if (indexETag is { } writtenIndex && existing?.ReadString("TokenHash") != record.TokenHash)
        {
            // The index this call wrote points at a record that does not carry this token: take it back.
            await _table.DeleteAsync(index.Key(), writtenIndex, cancellationToken).ConfigureAwait(false);
        }

        return false;
    }

    public async Task<Versioned<ReferralRecord>?> FindAsync(string referralId, CancellationToken cancellationToken)
    {
        if (!TableKeys.IsValidKey(referralId))
        {
            return null;
        }

        var entity = await _table.GetAsync(TableKeys.Record(referralId), cancellationToken).ConfigureAwait(false);
        return entity is null ? null : new Versioned<ReferralRecord>(ReferralEntities.ToRecord(entity), entity.ETag.ToString());
    }

    /// <summary>
    /// A duress token's index entry says so itself, so its lookup is one point read, as a miss is; only the client's
    /// token goes on to her record. An entry written before the marker existed says nothing: its record decides.
    /// </summary>
    public async Task<TokenMatch?> FindByTokenHashAsync(string tokenHash, CancellationToken cancellationToken)
    {
        if (!TableKeys.IsValidKey(tokenHash))
        {
            return null;
        }

        var index = await _table.GetAsync(TableKeys.TokenIndex(tokenHash), cancellationToken).ConfigureAwait(false);
        if (index?.ReadString("ReferralId") is not { } referralId)
        {
            return null;
        }

        if (ReferralEntities.IsDuressIndex(index))
        {
            return new TokenMatch.Duress(referralId);
        }

        var found = await FindAsync(referralId, cancellationToken).ConfigureAwait(false);
        // An index left behind by an interrupted write must not lead to a record with another token.
        return found switch
        {
            { Value.TokenHash: var hash } when string.Equals(hash, tokenHash, StringComparison.Ordinal) => new TokenMatch.Client(found),
            { Value.DuressTokenHash: var hash } when string.Equals(hash, tokenHash, StringComparison.Ordinal) => new TokenMatch.Duress(referralId),
            _ => null,
        };
    }

    public async Task<WriteOutcome> TryReplaceAsync(ReferralRecord record, string expectedVersion, CancellationToken cancellationToken)
    {
        if (!TableKeys.IsValidKey(record.ReferralId))
        {
            return WriteOutcome.NotFound;
        }

        return await _table.ReplaceAsync(ReferralEntities.ToEntity(record), new ETag(expectedVersion), cancellationToken).ConfigureAwait(false);
    }

    public async Task<WriteOutcome> TryDeleteAsync(string referralId, string expectedVersion, CancellationToken cancellationToken)
    {
        if (!TableKeys.IsValidKey(referralId))
        {
            return WriteOutcome.NotFound;
        }

        var key = TableKeys.Record(referralId);
        ReferralRecord record;
        if (_duePurges.TryRemove(referralId, out var scanned) && scanned.Version == expectedVersion)
        {
            record = scanned.Value;
        }
        else
        {
            // Read first for the token hash: the index is keyed by it and the caller only knows the id.
            var current = await _table.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                return WriteOutcome.NotFound;
            }

            record = ReferralEntities.ToRecord(current);
        }

        var outcome = await _table.DeleteAsync(key, new ETag(expectedVersion), cancellationToken).ConfigureAwait(false);
        if (outcome != WriteOutcome.Written)
        {
            return outcome;
        }

        // Unconditional: a token hash is indexed for one referral only (TryCreateAsync refuses a second).
        foreach (var hash in new[] { record.TokenHash, record.DuressTokenHash }.Where(TableKeys.IsValidKey))
        {
            await _table.DeleteAsync(TableKeys.TokenIndex(hash!), ETag.All, cancellationToken).ConfigureAwait(false);
        }

        // After the delete, not with it (two partitions): a crash in between loses one count, never adds one.
        await CountForReportsAsync(ReportFact.Of(record), cancellationToken).ConfigureAwait(false);
        await _table.DeleteAsync(TableKeys.OrganisationIndex(record.OrganisationId, record.CreatedAt, record.ReferralId), ETag.All, cancellationToken)
            .ConfigureAwait(false);
        return outcome;
    }

    public async IAsyncEnumerable<Versioned<ReferralRecord>> FindDueAsync(
        DateTimeOffset now, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var client = await _table.ClientAsync(cancellationToken).ConfigureAwait(false);
        // What an earlier scan remembered and its pass never purged (stopped early, or another instance did it) is
        // forgotten here: no copy of a record outlives the next scan in this instance's memory.
        _duePurges.Clear();
        var orphansRemoved = 0;
        await foreach (var entity in client.QueryAsync<TableEntity>(TableKeys.OnOrBefore(TableKeys.DueAtProperty, now), cancellationToken: cancellationToken)
            .ConfigureAwait(false))
        {
            switch (entity.RowKey)
            {
                case TableKeys.RecordRow:
                    var record = ReferralEntities.ToRecord(entity);
                    // DueAt is a precomputed summary; the domain's rule has the last word.
                    if (Transitions.DueAction(record, now) is var action and not SweepAction.None)
                    {
                        var due = new Versioned<ReferralRecord>(record, entity.ETag.ToString());
                        if (action == SweepAction.Purge && _duePurges.Count < MaxRememberedPurges)
                        {
                            _duePurges[record.ReferralId] = due;
                        }

                        yield return due;
                    }

                    break;
                case TableKeys.TokenIndexRow:
                    // The port has no sweep step of its own for the index, so the scan that finds due records also
                    // removes indexes whose record is gone: retention applies to the token hash too.
                case var _ when TableKeys.IsOrganisationIndex(entity.Key()):
                    orphansRemoved += await ReconcileIndexAsync(entity, now, cancellationToken).ConfigureAwait(false) ? 1 : 0;
                    break;
            }
        }

        if (orphansRemoved > 0)
        {
            LogOrphansRemoved(_logger, orphansRemoved);
        }
    }

    public async IAsyncEnumerable<Versioned<ReferralRecord>> FindNotificationsDueAsync(
        DateTimeOffset now, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var filter = TableKeys.OnOrBefore(TableKeys.DueAtProperty, now) + TableClient.CreateQueryFilter($" and RowKey eq {TableKeys.RecordRow}");
        var client = await _table.ClientAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var entity in client.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var record = ReferralEntities.ToRecord(entity);
            if (record.NotifyAt <= now)
            {
                yield return new Versioned<ReferralRecord>(record, entity.ETag.ToString());
            }
        }
    }

    /// <summary>
    /// Reads the organisation index newest first and each referral from its record, which alone holds the current
    /// status. At most <see cref="MaxScannedPerItem"/> index rows per requested item are read for one page, so a rare
    /// status cannot make one request read everything: the page then ends early with a continuation.
    /// </summary>
    public async Task<ReferralPage> ListAsync(ReferralQuery query, CancellationToken cancellationToken)
    {
        if (!TableKeys.IsValidKey(TableKeys.OrganisationPartitionPrefix + query.OrganisationId))
        {
            return new ReferralPage([], null);
        }

        var items = new List<ReferralRecord>();
        var scanned = 0;
        var maxScanned = query.Limit * MaxScannedPerItem;
        var client = await _table.ClientAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var index in client.QueryAsync<TableEntity>(TableKeys.OrganisationFilter(query), Math.Min(1000, maxScanned),
            cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var position = new ReferralCursor(ReferralCursor.ToMillisecond(index.RequireDateTime("CreatedAt")), index.RequireString("ReferralId"));
            if (await FindAsync(position.ReferralId, cancellationToken).ConfigureAwait(false) is { } found
                && query.Matches(found.Value)
                && ReferralCursor.Of(found.Value) == position)
            {
                items.Add(found.Value);
            }

            if (items.Count == query.Limit || ++scanned == maxScanned)
            {
                return new ReferralPage(items, position);
            }
        }

        return new ReferralPage(items, null);
    }

    /// <summary>Report facts from the records created in the range and from the counters of purged ones.</summary>
    public async IAsyncEnumerable<ReportFact> FactsAsync(
        DateOnly fromMonth, DateOnly untilMonth, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var client = await _table.ClientAsync(cancellationToken).ConfigureAwait(false);
        var filter = TableClient.CreateQueryFilter(
            $"RowKey eq {TableKeys.RecordRow} and CreatedAt ge {Start(fromMonth)} and CreatedAt lt {Start(untilMonth)}");
        await foreach (var entity in client.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            yield return ReportFact.Of(ReferralEntities.ToRecord(entity));
        }

        await foreach (var counter in client.QueryAsync<TableEntity>(TableKeys.ReportCounterFilter(fromMonth, untilMonth), cancellationToken: cancellationToken)
            .ConfigureAwait(false))
        {
            yield return ReferralEntities.ToReportFact(counter);
        }
    }

    private async Task CountForReportsAsync(ReportFact fact, CancellationToken ct)
    {
        if (TableKeys.ReportCounter(fact) is not { } key)
        {
            return;
        }

        for (var attempt = 0; attempt < MaxCounterAttempts; attempt++)
        {
            var current = await _table.GetAsync(key, ct).ConfigureAwait(false);
            var next = ReferralEntities.ToReportCounter(key, fact with { Count = (current?.ReadInt32("Count") ?? 0) + fact.Count });
            var written = current is null
                ? await _table.InsertAsync(next, ct).ConfigureAwait(false) is not null
                : await _table.ReplaceAsync(next, current.ETag, ct).ConfigureAwait(false) == WriteOutcome.Written;
            if (written)
            {
                return;
            }
        }

        LogCounterLost(_logger);
    }

    private static DateTimeOffset Start(DateOnly month) => new(month.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    /// <summary>Writes the token index; its ETag when this call wrote it, null when it was already there for this referral.</summary>
    private async Task<ETag?> InsertTokenIndexAsync(TableEntity index, string referralId, string writeId, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxIndexAttempts; attempt++)
        {
            if (await _table.InsertAsync(index, ct).ConfigureAwait(false) is { } etag)
            {
                return etag;
            }

            var existing = await _table.GetAsync(index.Key(), ct).ConfigureAwait(false);
            if (existing is null)
            {
                continue; // Removed between our insert and read: insert again.
            }

            if (existing.ReadString(ReferralEntities.WriteIdProperty) == writeId)
            {
                return existing.ETag; // Ours, from an attempt whose response was lost.
            }

            if (string.Equals(existing.ReadString("ReferralId"), referralId, StringComparison.Ordinal))
            {
                return null; // Written by another create of this same referral.
            }

            // 80 random bits under a keyed hash: reaching here means a bug upstream, not bad luck.
            LogTokenHashCollision(_logger);
            throw new InvalidOperationException("This status token hash is already indexed for another referral.");
        }

        throw new InvalidOperationException("The token index kept disappearing while it was being written.");
    }

    /// <summary>Whether a record holds this hash as its client token or its duress token.</summary>
    private static bool Carries(string? tokenHash, string? duressTokenHash, string hash) =>
        string.Equals(tokenHash, hash, StringComparison.Ordinal) || string.Equals(duressTokenHash, hash, StringComparison.Ordinal);

    /// <summary>
    /// Deletes a token or organisation index entry whose record is gone or no longer points back at it; otherwise
    /// moves its check to the record's purge. A record already due for purge takes its index with it in this sweep.
    /// </summary>
    private async Task<bool> ReconcileIndexAsync(TableEntity index, DateTimeOffset now, CancellationToken ct)
    {
        var referralId = index.ReadString("ReferralId");
        var stored = referralId is not null && TableKeys.IsValidKey(referralId)
            ? await _table.GetAsync(TableKeys.Record(referralId), ct).ConfigureAwait(false)
            : null;
        var record = stored is null ? null : ReferralEntities.ToRecord(stored);
        var isTokenIndex = index.RowKey == TableKeys.TokenIndexRow;
        var pointsBack = record is not null && (isTokenIndex
            ? Carries(record.TokenHash, record.DuressTokenHash, index.PartitionKey)
            : TableKeys.OrganisationIndex(record.OrganisationId, record.CreatedAt, record.ReferralId) == index.Key());
        if (!pointsBack)
        {
            return await _table.DeleteAsync(index.Key(), index.ETag, ct).ConfigureAwait(false) == WriteOutcome.Written;
        }

        if (record!.PurgeAt > now)
        {
            // Rewritten whole, so it keeps (or, for an entry from before the marker, gains) what kind of token it indexes.
            var next = isTokenIndex
                ? ReferralEntities.ToTokenIndex(index.PartitionKey, record.ReferralId, record.PurgeAt,
                    duress: string.Equals(record.DuressTokenHash, index.PartitionKey, StringComparison.Ordinal))
                : ReferralEntities.ToOrganisationIndex(record);
            await _table.ReplaceAsync(next, index.ETag, ct).ConfigureAwait(false);
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} index entries whose referral record was gone")]
    private static partial void LogOrphansRemoved(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A purged referral could not be added to the report counters (they kept changing)")]
    private static partial void LogCounterLost(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "A status token hash is already indexed for another referral; the new referral was not stored")]
    private static partial void LogTokenHashCollision(ILogger logger);
}
