using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Data.Tables;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;

namespace ReferralBroker.Azure.TableStorage;

/// <summary>
/// The directory in Azure Table Storage, one table: a partition of organisations and one of partners (each
/// record as JSON in one property, id as RowKey), one partition of flags per flagged partner, and a partition of
/// staff members' personal keys (hashes only; last use in a property of its own, so recording it never rewrites them).
/// </summary>
public sealed class TableDirectoryStore : IDirectoryStore
{
    private const string RecordProperty = "Record";
    private const string LastUsedAtProperty = "LastUsedAt";
    private const int MaxTransactionActions = 100;
    private const int MaxClearAttempts = 3;
    private readonly EntityTable _table;

    public TableDirectoryStore(TableStorageOptions options, TokenCredential? credential, TableClientOptions? clientOptions = null) =>
        _table = EntityTable.Create(options, TableKeys.DirectoryTable(options.TablePrefix), credential, clientOptions);

    public async Task<DirectoryContents> LoadAsync(CancellationToken cancellationToken)
    {
        var client = await _table.ClientAsync(cancellationToken).ConfigureAwait(false);
        // Small partitions; reading each whole is cheaper than keeping an index of them.
        var organisations = await client.QueryAsync<TableEntity>(TableKeys.InPartition(TableKeys.OrganisationsPartition), cancellationToken: cancellationToken)
            .Select(e => JsonSerializer.Deserialize(e.RequireString(RecordProperty), DirectoryRecordJson.Default.OrganisationAccount)!)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var partners = await client.QueryAsync<TableEntity>(TableKeys.InPartition(TableKeys.PartnersPartition), cancellationToken: cancellationToken)
            .Select(e => JsonSerializer.Deserialize(e.RequireString(RecordProperty), DirectoryRecordJson.Default.Partner)!)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var staff = await client.QueryAsync<TableEntity>(TableKeys.InPartition(TableKeys.StaffPartition), cancellationToken: cancellationToken)
            .Select(e => JsonSerializer.Deserialize(e.RequireString(RecordProperty), DirectoryRecordJson.Default.StaffCredential)! with
            {
                LastUsedAt = e.ReadDateTime(LastUsedAtProperty),
            })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return new DirectoryContents(organisations, partners) { Staff = staff };
    }

    public Task SaveOrganisationAsync(OrganisationAccount account, CancellationToken cancellationToken) => UpsertAsync(
        TableKeys.Organisation(account.Organisation.Id), [(RecordProperty, JsonSerializer.Serialize(account, DirectoryRecordJson.Default.OrganisationAccount))],
        cancellationToken);

    public Task SavePartnerAsync(Partner partner, CancellationToken cancellationToken) => UpsertAsync(
        TableKeys.Partner(partner.Id), [(RecordProperty, JsonSerializer.Serialize(partner, DirectoryRecordJson.Default.Partner))], cancellationToken);

    public Task SaveStaffAsync(StaffCredential credential, CancellationToken cancellationToken) => UpsertAsync(
        TableKeys.Staff(credential.Id),
        [
            (RecordProperty, JsonSerializer.Serialize(credential with { LastUsedAt = null }, DirectoryRecordJson.Default.StaffCredential)),
            (LastUsedAtProperty, credential.LastUsedAt),
        ],
        cancellationToken);

    public Task DeleteStaffAsync(string staffId, CancellationToken cancellationToken) =>
        _table.DeleteAsync(TableKeys.Staff(staffId), ETag.All, cancellationToken);

    /// <summary>A merge on any ETag: it sets last use only while the entity exists, so a revoked key stays deleted.</summary>
    public Task RecordStaffUseAsync(string staffId, DateTimeOffset day, CancellationToken cancellationToken) =>
        _table.MergeAsync(TableEntities.New(TableKeys.Staff(staffId), [(LastUsedAtProperty, day)]), ETag.All, cancellationToken);

    public Task AddFlagAsync(PartnerFlag flag, CancellationToken cancellationToken) => UpsertAsync(
        TableKeys.Flag(flag.PartnerId, flag.OrganisationId), [("Reason", flag.Reason), ("FlaggedAt", flag.FlaggedAt)], cancellationToken);

    public async Task<IReadOnlyList<PartnerFlag>> FlagsAsync(string partnerId, CancellationToken cancellationToken) =>
        await FlagsOf(await _table.ClientAsync(cancellationToken).ConfigureAwait(false), partnerId, cancellationToken)
            .Select(entity => new PartnerFlag(partnerId, entity.RowKey, entity.RequireString("Reason"), entity.RequireDateTime("FlaggedAt")))
            .ToListAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// A partner's flags share one partition, so they go in transactions of up to 100: a partner is never left
    /// half cleared. A flag removed meanwhile (another clear) fails its batch, which is then read and sent again.
    /// </summary>
    public async Task ClearFlagsAsync(string partnerId, CancellationToken cancellationToken)
    {
        var client = await _table.ClientAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; attempt < MaxClearAttempts; attempt++)
        {
            var deletes = await FlagsOf(client, partnerId, cancellationToken)
                .Select(entity => new TableTransactionAction(TableTransactionActionType.Delete, entity, ETag.All))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                foreach (var batch in deletes.Chunk(MaxTransactionActions))
                {
                    await client.SubmitTransactionAsync(batch, cancellationToken).ConfigureAwait(false);
                }

                return;
            }
            catch (TableTransactionFailedException failure) when (failure.Status == 404)
            {
                // Read again: what is left is what still needs deleting.
            }
        }

        throw new InvalidOperationException("The partner's flags kept changing while they were being cleared.");
    }

    private static AsyncPageable<TableEntity> FlagsOf(TableClient client, string partnerId, CancellationToken cancellationToken) =>
        client.QueryAsync<TableEntity>(TableKeys.InPartition(TableKeys.FlagsPartition(partnerId)), cancellationToken: cancellationToken);

    private async Task UpsertAsync(EntityKey key, IEnumerable<(string, object?)> properties, CancellationToken cancellationToken) =>
        await (await _table.ClientAsync(cancellationToken).ConfigureAwait(false))
            .UpsertEntityAsync(TableEntities.New(key, properties), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
}
