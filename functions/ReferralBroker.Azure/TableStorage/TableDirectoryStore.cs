using System.Text.Json;
using Azure.Core;
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
    private readonly TableClient _table;

    public TableDirectoryStore(TableStorageOptions options, TokenCredential? credential, ClientOptions? clientOptions = null)
        : this(new TableClient(TableClient.CreatePipeline(options, credential, clientOptions), options.Endpoint!,
            TableKeys.DirectoryTable(options.TablePrefix)))
    {
    }

    internal TableDirectoryStore(TableClient table) => _table = table;

    public async Task<DirectoryContents> LoadAsync(CancellationToken cancellationToken)
    {
        await _table.EnsureTableAsync(cancellationToken).ConfigureAwait(false);
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
        UpsertAsync(new TableEntity(TableKeys.Organisation(account.Organisation.Id))
            .Set(RecordProperty, JsonSerializer.Serialize(account, DirectoryRecordJson.Default.OrganisationAccount)), cancellationToken);

    public Task SavePartnerAsync(Partner partner, CancellationToken cancellationToken) =>
        UpsertAsync(new TableEntity(TableKeys.Partner(partner.Id))
            .Set(RecordProperty, JsonSerializer.Serialize(partner, DirectoryRecordJson.Default.Partner)), cancellationToken);

    public Task AddFlagAsync(PartnerFlag flag, CancellationToken cancellationToken) =>
        UpsertAsync(new TableEntity(TableKeys.Flag(flag.PartnerId, flag.OrganisationId))
            .Set("Reason", flag.Reason)
            .Set("FlaggedAt", flag.FlaggedAt), cancellationToken);

    public async Task<IReadOnlyList<PartnerFlag>> FlagsAsync(string partnerId, CancellationToken cancellationToken)
    {
        await _table.EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var flags = new List<PartnerFlag>();
        await foreach (var entity in _table.QueryAsync(TableKeys.InPartition(TableKeys.FlagsPartition(partnerId)), ct: cancellationToken)
            .ConfigureAwait(false))
        {
            flags.Add(new PartnerFlag(partnerId, entity.RowKey, entity.RequireString("Reason"), entity.RequireDateTime("FlaggedAt")));
        }

        return flags;
    }

    public async Task ClearFlagsAsync(string partnerId, CancellationToken cancellationToken)
    {
        foreach (var flag in await FlagsAsync(partnerId, cancellationToken).ConfigureAwait(false))
        {
            await _table.DeleteAsync(TableKeys.Flag(partnerId, flag.OrganisationId), "*", cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task UpsertAsync(TableEntity entity, CancellationToken cancellationToken)
    {
        await _table.EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        await _table.UpsertAsync(entity, cancellationToken).ConfigureAwait(false);
    }
}
