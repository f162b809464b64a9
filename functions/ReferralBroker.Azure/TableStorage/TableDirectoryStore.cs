using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Data.Tables;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;

namespace ReferralBroker.Azure.TableStorage;

/// <summary>
/// The directory in Azure Table Storage, one table: a partition of organisations and one of partners (each
/// record as JSON in one property, id as RowKey), and one partition of flags per flagged partner.
/// </summary>
public sealed class TableDirectoryStore : IDirectoryStore
{
    private const string RecordProperty = "Record";
    private const int MaxTransactionActions = 100;
    private const int MaxClearAttempts = 3;
    private readonly EntityTable _table;

    public TableDirectoryStore(TableStorageOptions options, TokenCredential? credential, TableClientOptions? clientOptions = null)
        : this(EntityTable.Create(options, TableKeys.DirectoryTable(options.TablePrefix), credential, clientOptions))
    {
    }

    internal TableDirectoryStore(EntityTable table) => _table = table;

    public async Task<DirectoryContents> LoadAsync(CancellationToken cancellationToken)
    {
        await _table.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var organisations = new List<OrganisationAccount>();
        var partners = new List<Partner>();
        // Two small partitions; reading both whole is cheaper than keeping an index of them.
        await foreach (var entity in _table.QueryAsync(TableKeys.InPartition(TableKeys.OrganisationsPartition), ct: cancellationToken)
            .ConfigureAwait(false))
        {
            organisations.Add(JsonSerializer.Deserialize(entity.RequireString(RecordProperty), DirectoryRecordJson.Default.OrganisationAccount)!);
        }

        await foreach (var entity in _table.QueryAsync(TableKeys.InPartition(TableKeys.PartnersPartition), ct: cancellationToken)
            .ConfigureAwait(false))
        {
            partners.Add(JsonSerializer.Deserialize(entity.RequireString(RecordProperty), DirectoryRecordJson.Default.Partner)!);
        }

        return new DirectoryContents(organisations, partners);
    }

    public Task SaveOrganisationAsync(OrganisationAccount account, CancellationToken cancellationToken) =>
        UpsertAsync(TableEntities.New(TableKeys.Organisation(account.Organisation.Id))
            .With(RecordProperty, JsonSerializer.Serialize(account, DirectoryRecordJson.Default.OrganisationAccount)), cancellationToken);

    public Task SavePartnerAsync(Partner partner, CancellationToken cancellationToken) =>
        UpsertAsync(TableEntities.New(TableKeys.Partner(partner.Id))
            .With(RecordProperty, JsonSerializer.Serialize(partner, DirectoryRecordJson.Default.Partner)), cancellationToken);

    public Task AddFlagAsync(PartnerFlag flag, CancellationToken cancellationToken) =>
        UpsertAsync(TableEntities.New(TableKeys.Flag(flag.PartnerId, flag.OrganisationId))
            .With("Reason", flag.Reason)
            .With("FlaggedAt", flag.FlaggedAt), cancellationToken);

    public async Task<IReadOnlyList<PartnerFlag>> FlagsAsync(string partnerId, CancellationToken cancellationToken)
    {
        await _table.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var flags = new List<PartnerFlag>();
        await foreach (var entity in _table.QueryAsync(TableKeys.InPartition(TableKeys.FlagsPartition(partnerId)), ct: cancellationToken)
            .ConfigureAwait(false))
        {
            flags.Add(new PartnerFlag(partnerId, entity.RowKey, entity.RequireString("Reason"), entity.RequireDateTime("FlaggedAt")));
        }

        return flags;
    }

    /// <summary>
    /// A partner's flags share one partition, so they go in transactions of up to 100: a partner is never left
    /// half cleared. A flag removed meanwhile (another clear) fails its batch, which is then read and sent again.
    /// </summary>
    public async Task ClearFlagsAsync(string partnerId, CancellationToken cancellationToken)
    {
        await _table.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; attempt < MaxClearAttempts; attempt++)
        {
            var deletes = new List<TableTransactionAction>();
            await foreach (var entity in _table.QueryAsync(TableKeys.InPartition(TableKeys.FlagsPartition(partnerId)), ct: cancellationToken)
                .ConfigureAwait(false))
            {
                deletes.Add(new TableTransactionAction(TableTransactionActionType.Delete, entity, ETag.All));
            }

            try
            {
                foreach (var batch in deletes.Chunk(MaxTransactionActions))
                {
                    await _table.SubmitTransactionAsync(batch, cancellationToken).ConfigureAwait(false);
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

    private async Task UpsertAsync(TableEntity entity, CancellationToken cancellationToken)
    {
        await _table.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        await _table.UpsertAsync(entity, cancellationToken).ConfigureAwait(false);
    }
}
