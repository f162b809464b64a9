using Microsoft.Data.Sqlite;

namespace ReferralBroker.Embedded;

/// <summary>
/// The embedded default's single SQLite file. Deleted rows are overwritten with zeros (secure_delete) and the
/// rollback journal is deleted after each transaction, so destroyed ciphertext and dispatched link secrets do
/// not linger in free pages or a write-ahead log.
/// </summary>
internal sealed class SqliteDatabase
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
        """;

    private readonly string _connectionString;

    public SqliteDatabase(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            DefaultTimeout = 30,
        }.ToString();
        using var connection = Open();
        Execute(connection, "PRAGMA journal_mode = DELETE;" + Schema);
        SqliteSchemaUpgrade.Upgrade(connection);
    }

    public string Path { get; }

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        // secure_delete is per connection, and pooled connections are reused: set it on every open.
        Execute(connection, "PRAGMA secure_delete = ON; PRAGMA busy_timeout = 30000;");
        return connection;
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

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
}
