using System.Collections.Concurrent;
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
        """;

    private const int MaxIdleConnections = 16;

    private readonly string _connectionString;
    private readonly ConcurrentBag<PooledConnection> _idle = [];
    // One writer at a time, queued in process: SQLite allows one anyway, and its busy handler waits by sleeping
    // and retrying, which under load costs far more than the write itself.
    private readonly SemaphoreSlim _writer = new(1, 1);
    private int _written;
    private bool _disposed;

    public SqliteDatabase(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            DefaultTimeout = 30,
            // Connections are kept open in this class's own pool, with their pragmas and prepared statements.
            Pooling = false,
        }.ToString();
        using var connection = Open();
        Execute(connection, "PRAGMA journal_mode = WAL;" + Schema);
    }

    public string Path { get; }

    /// <summary>A connection for reading; many readers run at once, and alongside the one writer.</summary>
    public Lease Read() => new(this, Take(), writing: false);

    /// <summary>The connection for writing: waits for the writer before it.</summary>
    public async ValueTask<Lease> WriteAsync(CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken);
        try
        {
            return new Lease(this, Take(), writing: true);
        }
        catch
        {
            _writer.Release();
            throw;
        }
    }

    /// <summary>
    /// Copies the write-ahead log into the file (where secure_delete has zeroed what was deleted) and truncates
    /// the log to nothing, so old page images holding destroyed data do not stay in it. Returns false when a
    /// reader kept it from finishing; the next call does it.
    /// </summary>
    public async Task<bool> CheckpointAsync(CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken);
        var pooled = Take();
        try
        {
            await using var reader = await pooled.Command("PRAGMA wal_checkpoint(TRUNCATE)").ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken) && reader.GetInt32(0) == 0)
            {
                // Holding the writer lock: no write can have slipped in since the checkpoint began.
                Volatile.Write(ref _written, 0);
                return true;
            }

            return false;
        }
        finally
        {
            Return(pooled, writing: false);
            _writer.Release();
        }
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

    public static long Millis(DateTimeOffset at) => at.ToUnixTimeMilliseconds();

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _writer.Wait();
        try
        {
            using (var connection = Open())
            {
                Execute(connection, "PRAGMA wal_checkpoint(TRUNCATE);");
            }

            while (_idle.TryTake(out var pooled))
            {
                pooled.Dispose();
            }
        }
        finally
        {
            _writer.Release();
        }
    }

    private PooledConnection Take() => _idle.TryTake(out var pooled) ? pooled : new PooledConnection(Open());

    private void Return(PooledConnection pooled, bool writing)
    {
        if (writing)
        {
            Interlocked.Increment(ref _written);
        }

        if (_disposed || _idle.Count >= MaxIdleConnections)
        {
            pooled.Dispose();
        }
        else
        {
            _idle.Add(pooled);
        }

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

    /// <summary>A pooled connection lent for one operation; disposing it gives it back (and the writer lock).</summary>
    public sealed class Lease : IAsyncDisposable
    {
        private readonly SqliteDatabase _database;
        private readonly PooledConnection _pooled;
        private readonly bool _writing;

        internal Lease(SqliteDatabase database, PooledConnection pooled, bool writing)
        {
            _database = database;
            _pooled = pooled;
            _writing = writing;
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
            _database.Return(_pooled, _writing);
            if (_writing)
            {
                _database._writer.Release();
            }

            return ValueTask.CompletedTask;
        }
    }
}
