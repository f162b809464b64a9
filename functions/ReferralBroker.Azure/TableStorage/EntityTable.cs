using Azure;
using Azure.Core;
using Azure.Data.Tables;
using ReferralBroker.Ports;

namespace ReferralBroker.Azure.TableStorage;

/// <summary>
/// One table's SDK client, the table created once before its first use, and the few calls whose service answers the
/// stores decide on (absent, already there, stale ETag) turned into results; everything else goes to the client.
/// </summary>
internal sealed class EntityTable(TableClient client)
{
    private const string TableNotFound = "TableNotFound";
    private readonly Lock _gate = new();
    private Task? _created;

    public static EntityTable Create(TableStorageOptions options, string tableName, TokenCredential? credential, TableClientOptions? clientOptions)
    {
        if (options.Validate() is { Count: > 0 } errors)
        {
            throw new ArgumentException("Invalid Table Storage options: " + string.Join(" ", errors), nameof(options));
        }

        clientOptions ??= new TableClientOptions();
        // The bodies are records: token hashes, capability hashes and sealed client details.
        if (clientOptions.Diagnostics.IsLoggingContentEnabled)
        {
            throw new ArgumentException("Content logging would write stored records to the Azure SDK log.", nameof(clientOptions));
        }

        // Azure.Core redacts it unless told otherwise; told otherwise, it would log the token or the key's signature.
        if (clientOptions.Diagnostics.LoggedHeaderNames.Contains("Authorization", StringComparer.OrdinalIgnoreCase))
        {
            throw new ArgumentException("Logging the Authorization header would write credentials to the Azure SDK log.", nameof(clientOptions));
        }

        return new EntityTable(options.UsesSharedKey
            ? new TableClient(options.Endpoint!, tableName, new TableSharedKeyCredential(options.AccountName!, options.AccountKey), clientOptions)
            : new TableClient(options.Endpoint!, tableName,
                credential ?? throw new ArgumentException("Without an AccountKey, a TokenCredential is required.", nameof(credential)),
                clientOptions));
    }

    /// <summary>
    /// The SDK client, once its table exists. The first caller creates the table; a failed attempt is tried again by
    /// the next. The creation is shared, so one caller giving up does not cancel it for the others waiting on it.
    /// </summary>
    public async Task<TableClient> ClientAsync(CancellationToken ct)
    {
        Task created;
        lock (_gate)
        {
            if (_created is null || _created.IsFaulted)
            {
                _created = client.CreateIfNotExistsAsync(CancellationToken.None);
            }

            created = _created;
        }

        await created.WaitAsync(ct).ConfigureAwait(false);
        return client;
    }

    /// <summary>Inserts the entity; its new ETag, or null when an entity with its keys already exists.</summary>
    public async Task<ETag?> InsertAsync(ITableEntity entity, CancellationToken ct)
    {
        try
        {
            return (await (await ClientAsync(ct).ConfigureAwait(false)).AddEntityAsync(entity, ct).ConfigureAwait(false)).Headers.ETag;
        }
        catch (RequestFailedException failure) when (failure.Status == 409 && failure.ErrorCode == "EntityAlreadyExists")
        {
            return null;
        }
    }

    /// <summary>The entity, or null when there is none with these keys (a missing table stays an error).</summary>
    public async Task<TableEntity?> GetAsync(EntityKey key, CancellationToken ct)
    {
        try
        {
            return (await (await ClientAsync(ct).ConfigureAwait(false)).GetEntityAsync<TableEntity>(key.PartitionKey, key.RowKey, cancellationToken: ct).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException failure) when (ConditionalOutcome(failure.Status, failure.ErrorCode) == WriteOutcome.NotFound)
        {
            // Not GetEntityIfExists: it would answer a missing table as a missing entity too.
            return null;
        }
    }

    /// <summary>Replaces the entity only while it is still at <paramref name="etag"/>.</summary>
    public async Task<WriteOutcome> ReplaceAsync(ITableEntity entity, ETag etag, CancellationToken ct)
    {
        try
        {
            await (await ClientAsync(ct).ConfigureAwait(false)).UpdateEntityAsync(entity, etag, TableUpdateMode.Replace, ct).ConfigureAwait(false);
            return WriteOutcome.Written;
        }
        catch (RequestFailedException failure) when (ConditionalOutcome(failure.Status, failure.ErrorCode) is { } outcome)
        {
            return outcome;
        }
    }

    /// <summary>
    /// Sets the entity's given properties, leaving the others, only while it is still at <paramref name="etag"/>
    /// (<see cref="ETag.All"/>: only while it exists; never creates it).
    /// </summary>
    public async Task<WriteOutcome> MergeAsync(ITableEntity entity, ETag etag, CancellationToken ct)
    {
        try
        {
            await (await ClientAsync(ct).ConfigureAwait(false)).UpdateEntityAsync(entity, etag, TableUpdateMode.Merge, ct).ConfigureAwait(false);
            return WriteOutcome.Written;
        }
        catch (RequestFailedException failure) when (ConditionalOutcome(failure.Status, failure.ErrorCode) is { } outcome)
        {
            return outcome;
        }
    }

    /// <summary>Deletes the entity only while it is still at <paramref name="etag"/>; <see cref="ETag.All"/> deletes whatever is there.</summary>
    public async Task<WriteOutcome> DeleteAsync(EntityKey key, ETag etag, CancellationToken ct)
    {
        try
        {
            // The SDK answers a 404 without throwing.
            var response = await (await ClientAsync(ct).ConfigureAwait(false)).DeleteEntityAsync(key.PartitionKey, key.RowKey, etag, ct).ConfigureAwait(false);
            var code = response.Headers.TryGetValue("x-ms-error-code", out var header) ? header : null;
            return response.Status != 404 ? WriteOutcome.Written : ConditionalOutcome(404, code) ?? throw new RequestFailedException(response);
        }
        catch (RequestFailedException failure) when (ConditionalOutcome(failure.Status, failure.ErrorCode) is { } outcome)
        {
            return outcome;
        }
    }

    private static WriteOutcome? ConditionalOutcome(int status, string? errorCode) => status switch
    {
        412 => WriteOutcome.Conflict,
        404 when errorCode != TableNotFound => WriteOutcome.NotFound,
        _ => null,
    };
}
