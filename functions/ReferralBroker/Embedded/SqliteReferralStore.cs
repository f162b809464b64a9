using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using static ReferralBroker.Embedded.SqliteDatabase;

namespace ReferralBroker.Embedded;

internal sealed class SqliteReferralStore(SqliteDatabase database) : IReferralStore, IIdempotencyStore
{
    private const string Columns = "record, version";

    public async Task<bool> TryCreateAsync(ReferralRecord record, CancellationToken cancellationToken)
    {
        await using var connection = database.Open();
        return await TryInsertAsync(connection, null, record, cancellationToken);
    }

    /// <summary>The insert, on a connection and transaction the caller owns (intake writes it with the queue row).</summary>
    internal static async Task<bool> TryInsertAsync(
        SqliteConnection connection, SqliteTransaction? transaction, ReferralRecord record, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, """
            INSERT INTO referrals (referral_id, token_hash, version, expires_at, sealed_delete_at, purge_at, status, record)
            VALUES ($id, $token, 1, $expires, $sealedDelete, $purge, $status, $record)
            ON CONFLICT (referral_id) DO NOTHING
            """, Parameters(record));
        command.Transaction = transaction;
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public Task<Versioned<ReferralRecord>?> FindAsync(string referralId, CancellationToken cancellationToken) =>
        FindOneAsync($"SELECT {Columns} FROM referrals WHERE referral_id = $key", referralId, cancellationToken);

    public Task<Versioned<ReferralRecord>?> FindByTokenHashAsync(string tokenHash, CancellationToken cancellationToken) =>
        FindOneAsync($"SELECT {Columns} FROM referrals WHERE token_hash = $key", tokenHash, cancellationToken);

    public async Task<WriteOutcome> TryReplaceAsync(ReferralRecord record, string expectedVersion, CancellationToken cancellationToken)
    {
        await using var connection = database.Open();
        await using var command = Command(connection, """
            UPDATE referrals SET version = version + 1, expires_at = $expires, sealed_delete_at = $sealedDelete,
                purge_at = $purge, status = $status, record = $record
            WHERE referral_id = $id AND version = $version
            """, [.. Parameters(record), ("$version", long.Parse(expectedVersion, CultureInfo.InvariantCulture))]);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1
            ? WriteOutcome.Written
            : await ExistsAsync(connection, record.ReferralId, cancellationToken) ? WriteOutcome.Conflict : WriteOutcome.NotFound;
    }

    public async Task<WriteOutcome> TryDeleteAsync(string referralId, string expectedVersion, CancellationToken cancellationToken)
    {
        await using var connection = database.Open();
        await using var command = Command(connection, "DELETE FROM referrals WHERE referral_id = $id AND version = $version",
            ("$id", referralId), ("$version", long.Parse(expectedVersion, CultureInfo.InvariantCulture)));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1
            ? WriteOutcome.Written
            : await ExistsAsync(connection, referralId, cancellationToken) ? WriteOutcome.Conflict : WriteOutcome.NotFound;
    }

    public async IAsyncEnumerable<Versioned<ReferralRecord>> FindDueAsync(
        DateTimeOffset now, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var due = new List<Versioned<ReferralRecord>>();
        await using (var connection = database.Open())
        await using (var command = Command(connection, $"""
            SELECT {Columns} FROM referrals
            WHERE purge_at <= $now OR sealed_delete_at <= $now
               OR (expires_at <= $now AND status IN ('Submitted', 'Delivered'))
            """, ("$now", Millis(now))))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                due.Add(Read(reader));
            }
        }

        // Read everything first: the sweep writes to these rows, and SQLite would otherwise hold the read open.
        foreach (var record in due)
        {
            yield return record;
        }
    }

    public async Task<IdempotencyRecord> GetOrAddAsync(IdempotencyRecord record, CancellationToken cancellationToken)
    {
        await using var connection = database.Open();
        await using var insert = Command(connection, """
            INSERT INTO idempotency (key_hash, expires_at, record) VALUES ($key, $expires, $record)
            ON CONFLICT (key_hash) DO NOTHING
            """, ("$key", record.KeyHash), ("$expires", Millis(record.ExpiresAt)),
            ("$record", JsonSerializer.Serialize(record, StorageJsonContext.Default.IdempotencyRecord)));
        if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
        {
            return record;
        }

        await using var select = Command(connection, "SELECT record FROM idempotency WHERE key_hash = $key", ("$key", record.KeyHash));
        var json = (string)(await select.ExecuteScalarAsync(cancellationToken))!;
        return JsonSerializer.Deserialize(json, StorageJsonContext.Default.IdempotencyRecord)!;
    }

    public async Task<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = database.Open();
        await using var command = Command(connection, "DELETE FROM idempotency WHERE expires_at <= $now", ("$now", Millis(now)));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<Versioned<ReferralRecord>?> FindOneAsync(string sql, string key, CancellationToken cancellationToken)
    {
        await using var connection = database.Open();
        await using var command = Command(connection, sql, ("$key", key));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static Versioned<ReferralRecord> Read(SqliteDataReader reader) => new(
        JsonSerializer.Deserialize(reader.GetString(0), StorageJsonContext.Default.ReferralRecord)!,
        reader.GetInt64(1).ToString(CultureInfo.InvariantCulture));

    private static async Task<bool> ExistsAsync(SqliteConnection connection, string referralId, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, "SELECT 1 FROM referrals WHERE referral_id = $id", ("$id", referralId));
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    private static (string, object?)[] Parameters(ReferralRecord record) =>
    [
        ("$id", record.ReferralId),
        ("$token", record.TokenHash),
        ("$expires", Millis(record.ExpiresAt)),
        ("$sealedDelete", record.Sealed is null ? null : record.SealedDeleteAt is { } at ? Millis(at) : null),
        ("$purge", Millis(record.PurgeAt)),
        ("$status", record.Status.ToString()),
        ("$record", JsonSerializer.Serialize(record, StorageJsonContext.Default.ReferralRecord)),
    ];
}
