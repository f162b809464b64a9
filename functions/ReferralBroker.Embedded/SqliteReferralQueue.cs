using System.Text;
using ReferralBroker.Hosting;
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
        var now = Millis(time.GetUtcNow());
        await database.WriteAsync(writer => Insert(writer, message, now), cancellationToken);
        _signal.Release();
    }

    /// <summary>
    /// The record and its message in one SQLite transaction: a crash can leave both or neither, never a referral
    /// answered with 201 that nothing will ever dispatch.
    /// </summary>
    public async Task<bool> TryCreateAndEnqueueAsync(ReferralRecord record, DispatchMessage message, CancellationToken cancellationToken)
    {
        var now = Millis(time.GetUtcNow());
        // One write is one savepoint of the writer's transaction: both rows commit together or not at all.
        var created = await database.WriteAsync(writer =>
        {
            if (!SqliteReferralStore.TryInsert(writer, record))
            {
                return false;
            }

            Insert(writer, message, now);
            return true;
        }, cancellationToken);
        if (created)
        {
            _signal.Release();
        }

        return created;
    }

    /// <summary>
    /// The resent record and its new message in one transaction. A message of the referral still queued (the failed
    /// one, in the moment between its referral being marked and the message completed) is deleted first: the new one
    /// takes its id, and completing the old lease then removes nothing.
    /// </summary>
    public async Task<WriteOutcome> TryReplaceAndEnqueueAsync(ReferralRecord record, string expectedVersion, DispatchMessage message, CancellationToken cancellationToken)
    {
        var now = Millis(time.GetUtcNow());
        var outcome = await database.WriteAsync(writer =>
        {
            var replaced = SqliteReferralStore.TryReplace(writer, record, expectedVersion);
            if (replaced != WriteOutcome.Written)
            {
                return replaced;
            }

            writer.Command("DELETE FROM queue WHERE message_id = $id", ("$id", message.MessageId)).ExecuteNonQuery();
            Insert(writer, message, now);
            return WriteOutcome.Written;
        }, cancellationToken);
        if (outcome == WriteOutcome.Written)
        {
            _signal.Release();
        }

        return outcome;
    }

    private static int Insert(Lease writer, DispatchMessage message, long now) => writer.Command("""
        INSERT INTO queue (message_id, enqueued_at, available_at, delivery_count, body)
        VALUES ($id, $now, $now, 0, $body)
        ON CONFLICT (message_id) DO NOTHING
        """, ("$id", message.MessageId), ("$now", now), ("$body", Encoding.UTF8.GetString(DispatchMessageJson.Serialize(message)))).ExecuteNonQuery();

    /// <summary>Waits until something is enqueued or the poll interval passes.</summary>
    public async Task WaitForWorkAsync(CancellationToken cancellationToken)
    {
        await _signal.WaitAsync(options.PollInterval, cancellationToken);
        // One drain takes everything enqueued so far: the signals of the messages it will take are spent.
        while (_signal.Wait(0, CancellationToken.None))
        {
        }
    }

    public async Task<LeasedMessage?> TryReceiveAsync(CancellationToken cancellationToken) =>
        (await TryReceiveBatchAsync(1, cancellationToken)).SingleOrDefault();

    /// <summary>Leases up to <paramref name="max"/> available messages, oldest first, in one write.</summary>
    public async Task<IReadOnlyList<LeasedMessage>> TryReceiveBatchAsync(int max, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var rows = await database.WriteAsync(writer =>
        {
            var taken = new List<(long Sequence, int DeliveryCount, string Body)>();
            using var reader = writer.Command("""
                UPDATE queue SET available_at = $lockedUntil, delivery_count = delivery_count + 1
                WHERE seq IN (SELECT seq FROM queue WHERE available_at <= $now ORDER BY seq LIMIT $max)
                RETURNING seq, delivery_count, body
                """, ("$now", Millis(now)), ("$lockedUntil", Millis(now + options.LockDuration)), ("$max", max)).ExecuteReader();
            while (reader.Read())
            {
                taken.Add((reader.GetInt64(0), reader.GetInt32(1), reader.GetString(2)));
            }

            return taken;
        }, cancellationToken);
        return [.. rows.OrderBy(row => row.Sequence)
            .Select(row => new LeasedMessage(row.Sequence, row.DeliveryCount, DispatchMessageJson.Deserialize(Encoding.UTF8.GetBytes(row.Body))!))];
    }

    /// <summary>Removes handled (or given-up) messages; with secure_delete their link secrets are overwritten.</summary>
    public Task CompleteAsync(IReadOnlyCollection<long> sequences, CancellationToken cancellationToken)
    {
        if (sequences.Count == 0)
        {
            return Task.CompletedTask;
        }

        var list = $"[{string.Join(',', sequences)}]";
        return database.WriteAsync(writer => writer.Command("DELETE FROM queue WHERE seq IN (SELECT value FROM json_each($seqs))",
            ("$seqs", list)).ExecuteNonQuery(), cancellationToken);
    }

    public Task AbandonAsync(long sequence, TimeSpan retryAfter, CancellationToken cancellationToken)
    {
        var at = Millis(time.GetUtcNow() + retryAfter);
        return database.WriteAsync(writer => writer.Command("UPDATE queue SET available_at = $at WHERE seq = $seq",
            ("$seq", sequence), ("$at", at)).ExecuteNonQuery(), cancellationToken);
    }

    /// <summary>
    /// Drops messages past their time-to-live (the link secret they carry must not outlive it) and returns the ids
    /// of their referrals, which can now never be emailed.
    /// </summary>
    public Task<IReadOnlyList<string>> PurgeExpiredAsync(CancellationToken cancellationToken)
    {
        var cutoff = Millis(time.GetUtcNow() - options.MessageTimeToLive);
        return database.WriteAsync<IReadOnlyList<string>>(writer =>
        {
            using var reader = writer.Command("DELETE FROM queue WHERE enqueued_at <= $cutoff RETURNING message_id", ("$cutoff", cutoff)).ExecuteReader();
            var dropped = new List<string>();
            while (reader.Read())
            {
                dropped.Add(reader.GetString(0));
            }

            return dropped;
        }, cancellationToken);
    }

    public void Dispose() => _signal.Dispose();
}
