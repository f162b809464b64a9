using System.Text;
using ReferralBroker.Azure.ServiceBus;
using ReferralBroker.Hosting;
using Microsoft.Data.Sqlite;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using static ReferralBroker.Embedded.SqliteDatabase;

namespace ReferralBroker.Embedded;

internal sealed record LeasedMessage(long Sequence, int DeliveryCount, DispatchMessage Message);

/// <summary>
/// A durable in-process queue in the same SQLite file: a message enqueued before a crash is still there after
/// a restart. Messages have the same JSON as on Service Bus. A taken message is leased, not removed, so a crash mid-dispatch means redelivery, never loss.
/// </summary>
internal sealed class SqliteReferralQueue(SqliteDatabase database, QueueOptions options, TimeProvider time) : IReferralQueue, IReferralIntake, IDisposable
{
    private readonly SemaphoreSlim _signal = new(0);

    public async Task EnqueueAsync(DispatchMessage message, CancellationToken cancellationToken)
    {
        await using (var connection = database.Open())
        {
            await InsertAsync(connection, null, message, cancellationToken);
        }

        _signal.Release();
    }

    /// <summary>
    /// The record and its message in one SQLite transaction: a crash can leave both or neither, never a referral
    /// answered with 201 that nothing will ever dispatch.
    /// </summary>
    public async Task<bool> TryCreateAndEnqueueAsync(ReferralRecord record, DispatchMessage message, CancellationToken cancellationToken)
    {
        await using (var connection = database.Open())
        await using (var transaction = connection.BeginTransaction())
        {
            if (!await SqliteReferralStore.TryInsertAsync(connection, transaction, record, cancellationToken))
            {
                return false;
            }

            await InsertAsync(connection, transaction, message, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        _signal.Release();
        return true;
    }

    private async Task InsertAsync(SqliteConnection connection, SqliteTransaction? transaction, DispatchMessage message, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, """
            INSERT INTO queue (message_id, enqueued_at, available_at, delivery_count, body)
            VALUES ($id, $now, $now, 0, $body)
            ON CONFLICT (message_id) DO NOTHING
            """, ("$id", message.MessageId), ("$now", Millis(time.GetUtcNow())),
            ("$body", Encoding.UTF8.GetString(DispatchMessageJson.Serialize(message))));
        command.Transaction = transaction;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Waits until something is enqueued or the poll interval passes.</summary>
    public Task WaitForWorkAsync(CancellationToken cancellationToken) =>
        _signal.WaitAsync(options.PollInterval, cancellationToken);

    public async Task<LeasedMessage?> TryReceiveAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = database.Open();
        await using var command = Command(connection, """
            UPDATE queue SET available_at = $lockedUntil, delivery_count = delivery_count + 1
            WHERE seq = (SELECT seq FROM queue WHERE available_at <= $now ORDER BY seq LIMIT 1)
            RETURNING seq, delivery_count, body
            """, ("$now", Millis(now)), ("$lockedUntil", Millis(now + options.LockDuration)));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new LeasedMessage(reader.GetInt64(0), reader.GetInt32(1),
            DispatchMessageJson.Deserialize(Encoding.UTF8.GetBytes(reader.GetString(2)))!);
    }

    /// <summary>Removes a handled (or given-up) message; with secure_delete its link secret is overwritten.</summary>
    public async Task CompleteAsync(long sequence, CancellationToken cancellationToken)
    {
        await using var connection = database.Open();
        await using var command = Command(connection, "DELETE FROM queue WHERE seq = $seq", ("$seq", sequence));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task AbandonAsync(long sequence, TimeSpan retryAfter, CancellationToken cancellationToken)
    {
        await using var connection = database.Open();
        await using var command = Command(connection, "UPDATE queue SET available_at = $at WHERE seq = $seq",
            ("$seq", sequence), ("$at", Millis(time.GetUtcNow() + retryAfter)));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Drops messages past their time-to-live (the link secret they carry must not outlive it) and returns the ids
    /// of their referrals, which can now never be emailed.
    /// </summary>
    public async Task<IReadOnlyList<string>> PurgeExpiredAsync(CancellationToken cancellationToken)
    {
        await using var connection = database.Open();
        await using var command = Command(connection, "DELETE FROM queue WHERE enqueued_at <= $cutoff RETURNING message_id",
            ("$cutoff", Millis(time.GetUtcNow() - options.MessageTimeToLive)));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var dropped = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            dropped.Add(reader.GetString(0));
        }

        return dropped;
    }

    public void Dispose() => _signal.Dispose();
}
