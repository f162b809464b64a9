using Microsoft.Data.Sqlite;

namespace ReferralBroker.Embedded;

/// <summary>
/// Columns the referral store queries besides the JSON record: when a notification is due, who sent a referral,
/// when and in which category (the organisation's list and the reports), and the duress token's hash. Added to an
/// existing file in place, filled from the records it already holds. And the report counters: what reports keep
/// of a purged referral, with no referral id, token hash, partner or exact time (see ReportFact).
/// </summary>
internal static class SqliteSchemaUpgrade
{
    private static readonly (string Name, string Type, string? FromRecord)[] Added =
    [
        ("notify_at", "INTEGER NULL", null),
        ("organisation_id", "TEXT NULL", "json_extract(record, '$.organisationId')"),
        ("created_at", "INTEGER NULL", "CAST(ROUND((julianday(json_extract(record, '$.createdAt')) - 2440587.5) * 86400000) AS INTEGER)"),
        ("category", "TEXT NULL", "json_extract(record, '$.category')"),
        ("duress_token_hash", "TEXT NULL", "json_extract(record, '$.duressTokenHash')"),
    ];

    public static void Upgrade(SqliteConnection connection)
    {
        var existing = new HashSet<string>(StringComparer.Ordinal);
        using (var command = SqliteDatabase.Command(connection, "SELECT name FROM pragma_table_info('referrals')"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                existing.Add(reader.GetString(0));
            }
        }

        using var transaction = connection.BeginTransaction();
        foreach (var (name, type, fromRecord) in Added.Where(c => !existing.Contains(c.Name)))
        {
            SqliteDatabase.Execute(connection, $"ALTER TABLE referrals ADD COLUMN {name} {type}");
            if (fromRecord is not null)
            {
                SqliteDatabase.Execute(connection, $"UPDATE referrals SET {name} = {fromRecord}");
            }
        }

        SqliteDatabase.Execute(connection, """
            CREATE INDEX IF NOT EXISTS referrals_notify_at ON referrals (notify_at) WHERE notify_at IS NOT NULL;
            CREATE INDEX IF NOT EXISTS referrals_organisation ON referrals (organisation_id, created_at DESC, referral_id);
            CREATE INDEX IF NOT EXISTS referrals_created_at ON referrals (created_at);
            CREATE UNIQUE INDEX IF NOT EXISTS referrals_duress_token_hash ON referrals (duress_token_hash) WHERE duress_token_hash IS NOT NULL;
            CREATE TABLE IF NOT EXISTS report_counters (
                month               TEXT NOT NULL,
                organisation_id     TEXT NOT NULL,
                category            TEXT NOT NULL,
                outcome             TEXT NOT NULL,
                hours_to_acceptance INTEGER NOT NULL,
                hours_to_completion INTEGER NOT NULL,
                count               INTEGER NOT NULL,
                PRIMARY KEY (month, organisation_id, category, outcome, hours_to_acceptance, hours_to_completion)
            );
            """);
        transaction.Commit();
    }
}
