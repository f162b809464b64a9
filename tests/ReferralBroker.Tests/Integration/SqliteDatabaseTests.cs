using System.Text;
using Microsoft.Data.Sqlite;
using ReferralBroker.Embedded;

namespace ReferralBroker.Tests.Integration;

/// <summary>The embedded store's one writer: writes queued together share a commit but not each other's failures.</summary>
public sealed class SqliteDatabaseTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("broker-sqlite-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_failing_write_is_undone_alone_and_the_writes_queued_with_it_are_committed()
    {
        using var database = new SqliteDatabase(Path.Combine(_folder, "broker.db"));
        var writes = Enumerable.Range(0, 20).Select(i => database.WriteAsync(writer =>
            writer.Command("INSERT INTO queue (message_id, enqueued_at, available_at, delivery_count, body) VALUES ($id, 0, 0, 0, 'b')",
                ("$id", i == 7 ? "same" : $"m{i}")).ExecuteNonQuery(), CancellationToken.None)).ToList();
        // The same message id again: the table's UNIQUE constraint fails this write, and only this one.
        var duplicate = database.WriteAsync(writer =>
        {
            writer.Command("INSERT INTO idempotency (key_hash, expires_at, record) VALUES ('k', 0, 'r')").ExecuteNonQuery();
            return writer.Command("INSERT INTO queue (message_id, enqueued_at, available_at, delivery_count, body) VALUES ('same', 0, 0, 0, 'b')")
                .ExecuteNonQuery();
        }, CancellationToken.None);

        Assert.All(await Task.WhenAll(writes), inserted => Assert.Equal(1, inserted));
        await Assert.ThrowsAsync<SqliteException>(() => duplicate);
        await using var reader = database.Read();
        Assert.Equal(20L, reader.Command("SELECT count(*) FROM queue").ExecuteScalar());
        Assert.Equal(0L, reader.Command("SELECT count(*) FROM idempotency").ExecuteScalar());
    }

    [Fact]
    public async Task After_a_checkpoint_a_deleted_value_is_in_no_file_of_the_database()
    {
        var path = Path.Combine(_folder, "broker.db");
        using var database = new SqliteDatabase(path);
        var secret = "LINKSECRET" + Guid.NewGuid().ToString("N");
        await database.WriteAsync(writer => writer.Command(
            "INSERT INTO queue (message_id, enqueued_at, available_at, delivery_count, body) VALUES ('m', 0, 0, 0, $body)",
            ("$body", secret)).ExecuteNonQuery(), CancellationToken.None);
        await database.WriteAsync(writer => writer.Command("DELETE FROM queue").ExecuteNonQuery(), CancellationToken.None);
        // Before the checkpoint the write-ahead log still holds the page as it was: the search can find it.
        Assert.Contains(Directory.GetFiles(_folder, "broker.db*"), file => Contains(file, secret));
        Assert.True(database.HasUncheckpointedWrites);

        Assert.True(await database.CheckpointAsync(CancellationToken.None));

        Assert.False(database.HasUncheckpointedWrites);
        Assert.Equal(0, new FileInfo(path + "-wal").Length);
        Assert.DoesNotContain(Directory.GetFiles(_folder, "broker.db*"), file => Contains(file, secret));
    }

    [Fact]
    public async Task A_directory_write_marks_the_log_so_a_replaced_key_hash_leaves_every_file_at_the_checkpoint()
    {
        var path = Path.Combine(_folder, "broker.db");
        using var database = new SqliteDatabase(path);
        Assert.True(await database.CheckpointAsync(CancellationToken.None));
        var store = new SqliteDirectoryStore(database);
        var organisation = new ReferralBroker.Referrals.Organisation("org", "An organisation", new(null, null, null));
        var revoked = "REVOKEDKEYHASH" + Guid.NewGuid().ToString("N");
        await store.SaveOrganisationAsync(new(organisation, revoked, DateTimeOffset.UnixEpoch), CancellationToken.None);
        Assert.True(await database.CheckpointAsync(CancellationToken.None));

        // The coordinator revokes the key: the record is rewritten without it.
        await store.SaveOrganisationAsync(new(organisation, null, null), CancellationToken.None);

        // The checkpoint service only checkpoints a marked log: before, directory writes bypassed the writer and the
        // replaced record's page image stayed in the log until some referral write marked it.
        Assert.True(database.HasUncheckpointedWrites);
        Assert.Contains(Directory.GetFiles(_folder, "broker.db*"), file => Contains(file, revoked));
        Assert.True(await database.CheckpointAsync(CancellationToken.None));
        Assert.DoesNotContain(Directory.GetFiles(_folder, "broker.db*"), file => Contains(file, revoked));
    }

    [Fact]
    public async Task A_checkpoint_queued_behind_writes_covers_them_and_a_later_write_marks_the_log_again()
    {
        var path = Path.Combine(_folder, "broker.db");
        using var database = new SqliteDatabase(path);
        var secret = "LINKSECRET" + Guid.NewGuid().ToString("N");
        // Not awaited in between: the writes and the checkpoint may share one pass of the writer, in this order.
        var insert = database.WriteAsync(writer => writer.Command(
            "INSERT INTO queue (message_id, enqueued_at, available_at, delivery_count, body) VALUES ('m', 0, 0, 0, $body)",
            ("$body", secret)).ExecuteNonQuery(), CancellationToken.None);
        var delete = database.WriteAsync(writer => writer.Command("DELETE FROM queue").ExecuteNonQuery(), CancellationToken.None);
        var checkpoint = database.CheckpointAsync(CancellationToken.None);

        Assert.True(await checkpoint);
        // The checkpoint ran after both writes were committed, and its task was completed after the mark was cleared.
        Assert.True(insert.IsCompletedSuccessfully && delete.IsCompletedSuccessfully);
        Assert.False(database.HasUncheckpointedWrites);
        Assert.Equal(0, new FileInfo(path + "-wal").Length);
        Assert.DoesNotContain(Directory.GetFiles(_folder, "broker.db*"), file => Contains(file, secret));

        await database.WriteAsync(writer => writer.Command("DELETE FROM queue").ExecuteNonQuery(), CancellationToken.None);
        Assert.True(database.HasUncheckpointedWrites);
    }

    private static bool Contains(string file, string needle)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray().AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0;
    }
}
