using System.Text.Json;
using Microsoft.Data.Sqlite;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using static ReferralBroker.Embedded.SqliteDatabase;

namespace ReferralBroker.Embedded;

/// <summary>The directory in the embedded default's SQLite file: one JSON record per organisation and partner.</summary>
internal sealed class SqliteDirectoryStore(SqliteDatabase database) : IDirectoryStore
{
    public async Task<DirectoryContents> LoadAsync(CancellationToken cancellationToken)
    {
        await using var connection = database.Open();
        var organisations = await ReadAllAsync(connection, "SELECT record FROM directory_organisations",
            DirectoryRecordJson.Default.OrganisationAccount, cancellationToken);
        var partners = await ReadAllAsync(connection, "SELECT record FROM directory_partners",
            DirectoryRecordJson.Default.Partner, cancellationToken);
        return new DirectoryContents(organisations, partners) { Staff = await ReadStaffAsync(connection, cancellationToken) };
    }

    public Task SaveOrganisationAsync(OrganisationAccount account, CancellationToken cancellationToken) =>
        ExecuteAsync("""
            INSERT INTO directory_organisations (organisation_id, record) VALUES ($id, $record)
            ON CONFLICT (organisation_id) DO UPDATE SET record = excluded.record
            """, cancellationToken,
            ("$id", account.Organisation.Id), ("$record", JsonSerializer.Serialize(account, DirectoryRecordJson.Default.OrganisationAccount)));

    public Task SavePartnerAsync(Partner partner, CancellationToken cancellationToken) =>
        ExecuteAsync("""
            INSERT INTO directory_partners (partner_id, record) VALUES ($id, $record)
            ON CONFLICT (partner_id) DO UPDATE SET record = excluded.record
            """, cancellationToken,
            ("$id", partner.Id), ("$record", JsonSerializer.Serialize(partner, DirectoryRecordJson.Default.Partner)));

    public Task AddFlagAsync(PartnerFlag flag, CancellationToken cancellationToken) =>
        ExecuteAsync("""
            INSERT INTO directory_flags (partner_id, organisation_id, reason, flagged_at) VALUES ($partner, $organisation, $reason, $at)
            ON CONFLICT (partner_id, organisation_id) DO UPDATE SET reason = excluded.reason, flagged_at = excluded.flagged_at
            """, cancellationToken,
            ("$partner", flag.PartnerId), ("$organisation", flag.OrganisationId), ("$reason", flag.Reason), ("$at", Millis(flag.FlaggedAt)));

    public async Task<IReadOnlyList<PartnerFlag>> FlagsAsync(string partnerId, CancellationToken cancellationToken)
    {
        await using var connection = database.Open();
        await using var command = Command(connection,
            "SELECT organisation_id, reason, flagged_at FROM directory_flags WHERE partner_id = $partner ORDER BY organisation_id",
            ("$partner", partnerId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var flags = new List<PartnerFlag>();
        while (await reader.ReadAsync(cancellationToken))
        {
            flags.Add(new PartnerFlag(partnerId, reader.GetString(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
        }

        return flags;
    }

    public Task ClearFlagsAsync(string partnerId, CancellationToken cancellationToken) =>
        ExecuteAsync("DELETE FROM directory_flags WHERE partner_id = $partner", cancellationToken, ("$partner", partnerId));

    /// <summary>Last use has a column of its own: recording it never rewrites the record.</summary>
    public Task SaveStaffAsync(StaffCredential credential, CancellationToken cancellationToken) =>
        ExecuteAsync("""
            INSERT INTO directory_staff (staff_id, record, last_used_at) VALUES ($id, $record, $used)
            ON CONFLICT (staff_id) DO UPDATE SET record = excluded.record, last_used_at = excluded.last_used_at
            """, cancellationToken,
            ("$id", credential.Id),
            ("$record", JsonSerializer.Serialize(credential with { LastUsedAt = null }, DirectoryRecordJson.Default.StaffCredential)),
            ("$used", credential.LastUsedAt is { } used ? Millis(used) : null));

    // secure_delete zeroes the row, its key hash with it; the writer's checkpoint clears the log's copy.
    public Task DeleteStaffAsync(string staffId, CancellationToken cancellationToken) =>
        ExecuteAsync("DELETE FROM directory_staff WHERE staff_id = $id", cancellationToken, ("$id", staffId));

    public Task RecordStaffUseAsync(string staffId, DateTimeOffset day, CancellationToken cancellationToken) =>
        ExecuteAsync("UPDATE directory_staff SET last_used_at = $used WHERE staff_id = $id", cancellationToken,
            ("$id", staffId), ("$used", Millis(day)));

    private static async Task<List<StaffCredential>> ReadStaffAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, "SELECT record, last_used_at FROM directory_staff");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var staff = new List<StaffCredential>();
        while (await reader.ReadAsync(cancellationToken))
        {
            staff.Add(JsonSerializer.Deserialize(reader.GetString(0), DirectoryRecordJson.Default.StaffCredential)! with
            {
                LastUsedAt = reader.IsDBNull(1) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
            });
        }

        return staff;
    }

    // Through the one writer, like every other write: it marks the log for the next checkpoint, so a rewritten
    // record's old page image (a replaced key hash, an earlier sealed webhook secret) leaves the log within a second.
    private Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        database.WriteAsync(writer => writer.Command(sql, parameters).ExecuteNonQuery(), cancellationToken);

    private static async Task<List<T>> ReadAllAsync<T>(
        SqliteConnection connection, string sql, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, sql);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var records = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(JsonSerializer.Deserialize(reader.GetString(0), type)!);
        }

        return records;
    }
}
