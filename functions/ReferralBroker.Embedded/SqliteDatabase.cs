using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace ReferralBroker.Embedded;

/// <summary>
/// The embedded default's single SQLite file, in write-ahead-log mode for throughput, without giving up what a
/// seizure may find: deleted rows are overwritten with zeros (secure_delete), and because the log keeps the
/// earlier image of every page it rewrote (a dispatched link secret, destroyed ciphertext), it is checkpointed
/// into the file and truncated to nothing shortly after writes (<see cref="CheckpointAsync"/>): by the dispatcher
/// when it runs dry, by the sweep, by a timer, and on shutdown.
/// </summary>
internal sealed class SqliteDatabase : IDisposable
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS referrals (
            referral_id      TEXT PRIMARY KEY,
            token_hash       TEXT NOT NULL UNIQUE,
            version          INTEGER NOT NULL,
            expires_at       INTEGER NOT NULL,
            sealed_delete_at INTEGER NULL,
            purge_at         INTEGER NOT NULL,
            status           TEXT NOT NULL,
            record           TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS referrals_purge_at ON referrals (purge_at);
        CREATE INDEX IF NOT EXISTS referrals_expires_at ON referrals (expires_at);
        CREATE INDEX IF NOT EXISTS referrals_sealed_delete_at ON referrals (sealed_delete_at);
        CREATE TABLE IF NOT EXISTS idempotency (
            key_hash   TEXT PRIMARY KEY,
            expires_at INTEGER NOT NULL,
            record     TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS queue (
            seq            INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id     TEXT NOT NULL UNIQUE,
            enqueued_at    INTEGER NOT NULL,
            available_at   INTEGER NOT NULL,
            delivery_count INTEGER NOT NULL,
            body           TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS directory_organisations (
            organisation_id TEXT PRIMARY KEY,
            record          TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS directory_partners (
            partner_id TEXT PRIMARY KEY,
            record     TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS directory_flags (
            partner_id      TEXT NOT NULL,
            organisation_id TEXT NOT NULL,
            reason          TEXT NOT NULL,
            flagged_at      INTEGER NOT NULL,
            PRIMARY KEY (partner_id, organisation_id)
        );
        CREATE TABLE IF NOT EXISTS directory_removed_partners (
            partner_id TEXT PRIMARY KEY
        );
        CREATE TABLE IF NOT EXISTS directory_staff (
            staff_id     TEXT PRIMARY KEY,
            record       TEXT NOT NULL,
            last_used_at INTEGER NULL
        );
        """;

    private const int MaxIdleConnections = 16;
    private const int MaxWritesPerTransaction = 512;

    private readonly string _connectionString;
    private readonly ConcurrentBag<PooledConnection> _idle = [];
    private readonly Channel<PendingWrite> _writes = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    /// <summary>Set when a write is queued or the queue closes; the writer waits on it (<see cref="WaitForWrites"/>).</summary>
    private readonly ManualResetEventSlim _wake = new(initialState: false, spinCount: 0);
    private readonly Thread _writer;
    private int _written;
    private bool _disposed;

    public SqliteDatabase(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        var folder = System.IO.Path.GetDirectoryName(Path)!;
        if (!Directory.Exists(folder))
        {
            PrivateFiles.Folder(folder);
        }

        // SQLite creates its file 0644 and gives the write-ahead log and its index the file's own mode: a file
        // created 0600 here (SQLite takes an empty file as a new database) keeps all three private from the start.
        if (!File.Exists(Path))
        {
            using (new FileStream(Path, PrivateFiles.NewFile(FileMode.OpenOrCreate)))
            {
            }
        }

        foreach (var file in new[] { Path, Path + "-wal", Path + "-shm", Path + "-journal" })
        {
            PrivateFiles.Tighten(file);
        }

        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            DefaultTimeout = 30,
            // Connections are kept open in this class's own pool, with their pragmas and prepared statements.
            Pooling = false,
        }.ToString();
        using (var connection = Open())
        {
            Execute(connection, "PRAGMA journal_mode = WAL;" + Schema);
            SqliteSchemaUpgrade.Upgrade(connection);
        }

        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "SQLite writer" };
        _writer.Start();
    }

    public string Path { get; }

    /// <summary>A connection for reading; many readers run at once, and alongside the writer.</summary>
    public Lease Read() => new(this, Take());

    /// <summary>
    /// Runs <paramref name="work"/> on the one writer's connection, inside a transaction shared with the writes
    /// queued at the same moment (group commit: one commit, one sync, for all of them), and completes once that
    /// transaction is committed. Each write has its own savepoint: one that throws is undone alone.
    /// Keep the work to the SQL itself: it runs on the writer's thread, holding up the writes behind it.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<Lease, T> work, CancellationToken cancellationToken)
    {
        var pending = new PendingWrite<T>(work, isCheckpoint: false, cancellationToken);
        return Enqueue(pending);
    }

    /// <summary>
    /// Copies the write-ahead log into the file (where secure_delete has zeroed what was deleted) and truncates
    /// the log to nothing, so old page images holding destroyed data do not stay in it. Returns false when a
    /// reader kept it from finishing; the next call does it.
    /// </summary>
    public Task<bool> CheckpointAsync(CancellationToken cancellationToken) =>
        Enqueue(new PendingWrite<bool>(Checkpoint, isCheckpoint: true, cancellationToken));

    private Task<T> Enqueue<T>(PendingWrite<T> pending)
    {
        ObjectDisposedException.ThrowIf(!_writes.Writer.TryWrite(pending), this);
        _wake.Set();

        return pending.Task;
    }

    /// <summary>Whether anything was written since the last complete checkpoint.</summary>
    public bool HasUncheckpointedWrites => Volatile.Read(ref _written) > 0;

    /// <summary>A plain connection with the pragmas every connection needs; the seeder's and the pool's.</summary>
    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        // Both are per connection. NORMAL in WAL mode: a commit is safe from a crash of the process and never
        // corrupts the file; only an operating-system crash or power cut can lose the last commits before a
        // checkpoint. It saves an fsync per commit, which is most of a write's cost.
        Execute(connection, "PRAGMA secure_delete = ON; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 30000;");
        return connection;
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// A one-off command on a connection from <see cref="Open"/>, for rare work outside the pool (schema, admin).
    /// Its writes bypass the writer's group commit and wait on SQLite's own lock instead.
    /// </summary>
    public static SqliteCommand Command(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    public static long Millis(DateTimeOffset at) => at.ToUnixTimeMilliseconds();

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _writes.Writer.TryComplete();
        _wake.Set();
        _writer.Join();
        // _wake is not disposed: a write queued just before the close may still set it, and with no spin and no
        // WaitHandle asked for it holds no kernel object.
        while (_idle.TryTake(out var pooled))
        {
            pooled.Dispose();
        }
    }

    private PooledConnection Take() => _idle.TryTake(out var pooled) ? pooled : new PooledConnection(Open());

    private void Return(PooledConnection pooled)
    {
        if (_disposed || _idle.Count >= MaxIdleConnections)
        {
            pooled.Dispose();
        }
        else
        {
            _idle.Add(pooled);
        }
    }

    private static bool Checkpoint(Lease lease)
    {
        using var reader = lease.Command("PRAGMA wal_checkpoint(TRUNCATE)").ExecuteReader();
        return reader.Read() && reader.GetInt32(0) == 0;
    }

    private void WriteLoop()
    {
        using var pooled = new PooledConnection(Open());
        var lease = new Lease(null, pooled);
        var batch = new List<PendingWrite>(MaxWritesPerTransaction);
        while (WaitForWrites())
        {
            while (batch.Count < MaxWritesPerTransaction && _writes.Reader.TryRead(out var pending))
            {
                if (pending.IsCheckpoint)
                {
                    Commit(lease, batch);
                    // Outside any transaction, and with every write before it committed: nothing is left behind.
                    pending.Run(lease);
                    // Before the caller is told: its continuation runs on another thread as soon as the task is
                    // completed, and may ask HasUncheckpointedWrites before this thread runs another statement
                    // (a loaded machine deschedules it right there). Cleared first, the mark's write happens-before
                    // the completion, so no schedule shows it set. A commit raises it before its tasks complete too.
                    if (pending.Succeeded)
                    {
                        Volatile.Write(ref _written, 0);
                    }

                    pending.Complete();

                    continue;
                }

                batch.Add(pending);
            }

            Commit(lease, batch);
        }

        // Shutting down: what was deleted must not stay in the log after the process is gone.
        Checkpoint(lease);
    }

    /// <summary>
    /// Blocks the writer's thread until a write is queued (true) or the queue is closed and empty (false), without
    /// spinning. <c>Task.Wait</c> (and <c>GetResult</c> on a pending task) spins first: on this thread, which waits
    /// between every burst of writes, that spin was 7-10 % of the process's CPU under submissions and during start-up
    /// (dotnet-trace), CPU the request threads of a two-core machine needed. <see cref="_wake"/> has no spin: a wait
    /// costs the next write a wake-up, far less than its commit.
    /// </summary>
    private bool WaitForWrites()
    {
        while (true)
        {
            // Reset before looking: a write queued after the look sets it again, so the wait below returns at once.
            _wake.Reset();
            if (_writes.Reader.TryPeek(out _))
            {
                return true;
            }

            if (_writes.Reader.Completion.IsCompleted)
            {
                return false;
            }

            _wake.Wait();
        }
    }

    private void Commit(Lease lease, List<PendingWrite> batch)
    {
        if (batch.Count == 0)
        {
            return;
        }

        var began = false;
        try
        {
            lease.Command("BEGIN IMMEDIATE").ExecuteNonQuery();
            began = true;
            foreach (var pending in batch)
            {
                if (pending.Cancelled)
                {
                    continue;
                }

                lease.Command("SAVEPOINT one_write").ExecuteNonQuery();
                if (pending.Run(lease))
                {
                    lease.Command("RELEASE one_write").ExecuteNonQuery();
                }
                else
                {
                    lease.Command("ROLLBACK TO one_write").ExecuteNonQuery();
                    lease.Command("RELEASE one_write").ExecuteNonQuery();
                }
            }

            lease.Command("COMMIT").ExecuteNonQuery();
            Interlocked.Increment(ref _written);
            foreach (var pending in batch)
            {
                pending.Complete();
            }
        }
        catch (Exception e)
        {
            if (began)
            {
                try
                {
                    lease.Command("ROLLBACK").ExecuteNonQuery();
                }
                catch (SqliteException)
                {
                    // SQLite already rolled back (an I/O error does); the writes are failed either way.
                }
            }

            foreach (var pending in batch)
            {
                pending.Fail(e);
            }
        }

        batch.Clear();
    }

    /// <summary>An open connection and its prepared statements, which live as long as it does.</summary>
    internal sealed class PooledConnection(SqliteConnection connection) : IDisposable
    {
        private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

        public SqliteConnection Connection { get; } = connection;

        public SqliteCommand Command(string sql)
        {
            if (!_commands.TryGetValue(sql, out var command))
            {
                command = Connection.CreateCommand();
                command.CommandText = sql;
                _commands[sql] = command;
            }

            command.Parameters.Clear();
            return command;
        }

        public void Dispose()
        {
            foreach (var command in _commands.Values)
            {
                command.Dispose();
            }

            Connection.Dispose();
        }
    }

    /// <summary>A pooled connection lent for one operation; disposing it gives it back.</summary>
    public sealed class Lease : IAsyncDisposable
    {
        private readonly SqliteDatabase? _database;
        private readonly PooledConnection _pooled;

        internal Lease(SqliteDatabase? database, PooledConnection pooled)
        {
            _database = database;
            _pooled = pooled;
        }

        /// <summary>This connection's prepared statement for the SQL, with these parameters; not to be disposed.</summary>
        public SqliteCommand Command(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
        {
            var command = _pooled.Command(sql);
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value ?? DBNull.Value);
            }

            return command;
        }

        public ValueTask DisposeAsync()
        {
            _database?.Return(_pooled);
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>A write waiting for the writer's thread.</summary>
    private abstract class PendingWrite
    {
        public abstract bool IsCheckpoint { get; }
        public abstract bool Cancelled { get; }
        public abstract bool Succeeded { get; }

        /// <summary>Runs the work; false when it threw (its error is kept for <see cref="Complete"/>).</summary>
        public abstract bool Run(Lease lease);

        /// <summary>Hands over the result or the work's own error, once the transaction is committed.</summary>
        public abstract void Complete();

        public abstract void Fail(Exception error);
    }

    private sealed class PendingWrite<T>(Func<Lease, T> work, bool isCheckpoint, CancellationToken cancellationToken) : PendingWrite
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;
        private Exception? _error;
        private bool _ran;

        public Task<T> Task => _completion.Task;
        public override bool IsCheckpoint => isCheckpoint;
        public override bool Cancelled => cancellationToken.IsCancellationRequested;
        public override bool Succeeded => _ran && _error is null && _result is true;

        public override bool Run(Lease lease)
        {
            _ran = true;
            try
            {
                _result = work(lease);
                return true;
            }
            catch (Exception e)
            {
                _error = e;
                return false;
            }
        }

        public override void Complete()
        {
            if (!_ran)
            {
                _completion.TrySetCanceled(cancellationToken);
            }
            else if (_error is not null)
            {
                _completion.TrySetException(_error);
            }
            else
            {
                _completion.TrySetResult(_result!);
            }
        }

        public override void Fail(Exception error) => _completion.TrySetException(error);
    }
}
