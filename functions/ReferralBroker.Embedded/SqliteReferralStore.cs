using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using ReferralBroker.Reports;
using static ReferralBroker.Embedded.SqliteDatabase;

namespace ReferralBroker.Embedded;

internal sealed class SqliteReferralStore(SqliteDatabase database) : IReferralStore, IIdempotencyStore
{
    private const string Columns = "record, version";

    public Task<bool> TryCreateAsync(ReferralRecord record, CancellationToken cancellationToken) =>
        database.WriteAsync(writer => TryInsert(writer, record), cancellationToken);

    /// <summary>The insert, inside a write the caller owns (intake writes it together with the queue row).</summary>
    internal static bool TryInsert(Lease writer, ReferralRecord record) => writer.Command("""
        INSERT INTO referrals (referral_id, token_hash, version, expires_at, sealed_delete_at, purge_at, status, record,
            notify_at, organisation_id, created_at, category, duress_token_hash)
        VALUES ($id, $token, 1, $expires, $sealedDelete, $purge, $status, $record,
            $notifyAt, $organisation, $createdAt, $category, $duressToken)
        ON CONFLICT (referral_id) DO NOTHING
        """, Parameters(record)).ExecuteNonQuery() == 1;

    public Task<Versioned<ReferralRecord>?> FindAsync(string referralId, CancellationToken cancellationToken) =>
        FindOneAsync($"SELECT {Columns} FROM referrals WHERE referral_id = $key", referralId, cancellationToken);

    /// <summary>
    /// One statement for every outcome. Both hashes are indexed columns, so which one matched is known from the row
    /// without its record: a duress hit reads the id and decodes nothing, the work of a miss but one row fetch.
    /// </summary>
    public async Task<TokenMatch?> FindByTokenHashAsync(string tokenHash, CancellationToken cancellationToken)
    {
        await using var lease = database.Read();
        await using var reader = await lease.Command("""
            SELECT referral_id, CASE WHEN token_hash = $key THEN record END, version FROM referrals
            WHERE token_hash = $key OR duress_token_hash = $key
            """, ("$key", tokenHash)).ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return reader.IsDBNull(1)
            ? new TokenMatch.Duress(reader.GetString(0))
            : new TokenMatch.Client(new Versioned<ReferralRecord>(
                JsonSerializer.Deserialize(reader.GetString(1), StorageJsonContext.Default.ReferralRecord)!,
                reader.GetInt64(2).ToString(CultureInfo.InvariantCulture)));
    }

    public Task<WriteOutcome> TryReplaceAsync(ReferralRecord record, string expectedVersion, CancellationToken cancellationToken) =>
        database.WriteAsync(writer => TryReplace(writer, record, expectedVersion), cancellationToken);

    /// <summary>The replace, inside a write the caller owns (a resend writes it together with the queue row).</summary>
    internal static WriteOutcome TryReplace(Lease writer, ReferralRecord record, string expectedVersion)
    {
        (string, object?)[] parameters = [.. Parameters(record), ("$version", long.Parse(expectedVersion, CultureInfo.InvariantCulture))];
        return writer.Command("""
            UPDATE referrals SET version = version + 1, expires_at = $expires, sealed_delete_at = $sealedDelete,
                purge_at = $purge, status = $status, record = $record, notify_at = $notifyAt, duress_token_hash = $duressToken
            WHERE referral_id = $id AND version = $version
            """, parameters).ExecuteNonQuery() == 1 ? WriteOutcome.Written : Missed(writer, record.ReferralId);
    }

    /// <summary>Deletes the record and, in the same write, adds it to the report counters: counted once, never twice.</summary>
    public Task<WriteOutcome> TryDeleteAsync(string referralId, string expectedVersion, CancellationToken cancellationToken)
    {
        var version = long.Parse(expectedVersion, CultureInfo.InvariantCulture);
        return database.WriteAsync(writer =>
        {
            if (writer.Command("DELETE FROM referrals WHERE referral_id = $id AND version = $version RETURNING record",
                    ("$id", referralId), ("$version", version)).ExecuteScalar() is not string json)
            {
                return Missed(writer, referralId);
            }

            var fact = ReportFact.Of(JsonSerializer.Deserialize(json, StorageJsonContext.Default.ReferralRecord)!);
            writer.Command("""
                INSERT INTO report_counters (month, organisation_id, category, outcome, hours_to_acceptance, hours_to_completion, count)
                VALUES ($month, $organisation, $category, $outcome, $accepted, $completed, 1)
                ON CONFLICT DO UPDATE SET count = count + 1
                """, SqliteReportSource.Parameters(fact)).ExecuteNonQuery();
            return WriteOutcome.Written;
        }, cancellationToken);
    }

    public IAsyncEnumerable<Versioned<ReferralRecord>> FindDueAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        ReadAllFirstAsync($"""
            SELECT {Columns} FROM referrals
            WHERE purge_at <= $now OR sealed_delete_at <= $now
               OR (expires_at <= $now AND status IN ('Submitted', 'Delivered'))
            """, cancellationToken, ("$now", Millis(now)));

    public IAsyncEnumerable<Versioned<ReferralRecord>> FindNotificationsDueAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        ReadAllFirstAsync($"SELECT {Columns} FROM referrals WHERE notify_at <= $now ORDER BY notify_at", cancellationToken, ("$now", Millis(now)));

    public async Task<ReferralPage> ListAsync(ReferralQuery query, CancellationToken cancellationToken)
    {
        var after = query.After;
        var items = new List<ReferralRecord>();
        await foreach (var found in ReadAllFirstAsync($"""
            SELECT {Columns} FROM referrals
            WHERE organisation_id = $organisation
              AND ($status IS NULL OR status = $status)
              AND ($category IS NULL OR category = $category)
              AND ($from IS NULL OR created_at >= $from)
              AND ($before IS NULL OR created_at < $before)
              AND ($afterAt IS NULL OR created_at < $afterAt OR (created_at = $afterAt AND referral_id > $afterId))
            ORDER BY created_at DESC, referral_id ASC
            LIMIT $limit
            """, cancellationToken,
            ("$organisation", query.OrganisationId),
            ("$status", query.Status?.ToString()),
            ("$category", query.Category?.ToString()),
            ("$from", query.CreatedFrom is { } from ? Millis(from) : null),
            ("$before", query.CreatedBefore is { } before ? Millis(before) : null),
            ("$afterAt", after is null ? null : Millis(after.CreatedAt)),
            ("$afterId", after?.ReferralId),
            ("$limit", query.Limit + 1)))
        {
            items.Add(found.Value);
        }

        return items.Count > query.Limit
            ? new ReferralPage(items[..query.Limit], ReferralCursor.Of(items[query.Limit - 1]))
            : new ReferralPage(items, null);
    }

    private async IAsyncEnumerable<Versioned<ReferralRecord>> ReadAllFirstAsync(
        string sql, [EnumeratorCancellation] CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        var found = new List<Versioned<ReferralRecord>>();
        await using (var lease = database.Read())
        await using (var reader = await lease.Command(sql, parameters).ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                found.Add(Read(reader));
            }
        }

        // Read everything first: the caller writes to these rows, and SQLite would otherwise hold the read open.
        foreach (var record in found)
        {
            yield return record;
        }
    }

    public async Task<IdempotencyRecord> GetOrAddAsync(IdempotencyRecord record, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.Serialize(record, StorageJsonContext.Default.IdempotencyRecord);
        var stored = await database.WriteAsync(writer =>
        {
            if (writer.Command("""
                INSERT INTO idempotency (key_hash, expires_at, record) VALUES ($key, $expires, $record)
                ON CONFLICT (key_hash) DO NOTHING
                """, ("$key", record.KeyHash), ("$expires", Millis(record.ExpiresAt)), ("$record", json)).ExecuteNonQuery() == 1)
            {
                return null;
            }

            return (string?)writer.Command("SELECT record FROM idempotency WHERE key_hash = $key", ("$key", record.KeyHash)).ExecuteScalar();
        }, cancellationToken);
        return stored is null ? record : JsonSerializer.Deserialize(stored, StorageJsonContext.Default.IdempotencyRecord)!;
    }

    public Task<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        database.WriteAsync(writer => writer.Command("DELETE FROM idempotency WHERE expires_at <= $now", ("$now", Millis(now))).ExecuteNonQuery(),
            cancellationToken);

    private async Task<Versioned<ReferralRecord>?> FindOneAsync(string sql, string key, CancellationToken cancellationToken)
    {
        await using var lease = database.Read();
        await using var reader = await lease.Command(sql, ("$key", key)).ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static Versioned<ReferralRecord> Read(SqliteDataReader reader) => new(
        JsonSerializer.Deserialize(reader.GetString(0), StorageJsonContext.Default.ReferralRecord)!,
        reader.GetInt64(1).ToString(CultureInfo.InvariantCulture));

    /// <summary>Why a conditional write touched no row: another version is there, or nothing is.</summary>
    private static WriteOutcome Missed(SqliteDatabase.Lease writer, string referralId) =>
        writer.Command("SELECT 1 FROM referrals WHERE referral_id = $id", ("$id", referralId)).ExecuteScalar() is not null
            ? WriteOutcome.Conflict
            : WriteOutcome.NotFound;

    private static (string, object?)[] Parameters(ReferralRecord record) =>
    [
        ("$id", record.ReferralId),
        ("$token", record.TokenHash),
        ("$expires", Millis(record.ExpiresAt)),
        ("$sealedDelete", record.Sealed is null ? null : record.SealedDeleteAt is { } at ? Millis(at) : null),
        ("$purge", Millis(record.PurgeAt)),
        ("$status", record.Status.ToString()),
        ("$record", JsonSerializer.Serialize(record, StorageJsonContext.Default.ReferralRecord)),
        ("$notifyAt", record.NotifyAt is { } notifyAt ? Millis(notifyAt) : null),
        ("$organisation", record.OrganisationId),
        ("$createdAt", Millis(record.CreatedAt)),
        ("$category", record.Category.ToString()),
        ("$duressToken", record.DuressTokenHash),
    ];
}
