using Microsoft.Data.Sqlite;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Tests.Reliability;

/// <summary>Looks into the embedded broker's SQLite file directly: what is stored, not what the API says.</summary>
internal static class SqliteFile
{
    public static async Task ExecuteAsync(BrokerApp app, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={app.DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<long> CountAsync(BrokerApp app, string table, string where = "1")
    {
        await using var connection = new SqliteConnection($"Data Source={app.DatabasePath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM {table} WHERE {where}";
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
