using System.Text.Json;
using Microsoft.Data.Sqlite;
using ReferralBroker.Embedded;
using ReferralBroker.Referrals;

namespace ReferralBroker.Tests.Integration;

public sealed class SqliteUpgradeTests
{
    [Fact]
    public async Task A_database_from_before_the_list_and_notification_columns_is_upgraded_in_place()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("broker-upgrade-").FullName, "broker.db");
        var record = Domain.TransitionsTests.Record(Lifecycle.ReferralStatus.Delivered);
        using (var old = new SqliteConnection($"Data Source={path}"))
        {
            old.Open();
            // The referrals table as the first release created it.
            SqliteDatabase.Execute(old, """
                CREATE TABLE referrals (
                    referral_id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, version INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL, sealed_delete_at INTEGER NULL, purge_at INTEGER NOT NULL,
                    status TEXT NOT NULL, record TEXT NOT NULL);
                """);
            using var insert = SqliteDatabase.Command(old, """
                INSERT INTO referrals VALUES ($id, 'token-hash', 1, 0, NULL, 0, 'Delivered', $record)
                """, ("$id", record.ReferralId), ("$record", JsonSerializer.Serialize(record, StorageJsonContext.Default.ReferralRecord)));
            insert.ExecuteNonQuery();
        }

        SqliteConnection.ClearAllPools();
        var store = new SqliteReferralStore(new SqliteDatabase(path));

        var page = await store.ListAsync(new ReferralQuery(record.OrganisationId, CreatedFrom: record.CreatedAt.AddMinutes(-1)), CancellationToken.None);
        Assert.Equal([record.ReferralId], page.Items.Select(r => r.ReferralId));
        Assert.Single((await store.ListAsync(new ReferralQuery(record.OrganisationId, Category: Lifecycle.ServiceCategory.Health), CancellationToken.None)).Items);
        // Opening it again changes nothing.
        _ = new SqliteDatabase(path);
        Assert.Single((await store.ListAsync(new ReferralQuery(record.OrganisationId), CancellationToken.None)).Items);
        SqliteConnection.ClearAllPools();
    }
}
