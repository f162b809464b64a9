using System.Runtime.CompilerServices;
using Azure;
using Azure.Core;
using Azure.Data.Tables;
using ReferralBroker.Ports;

namespace ReferralBroker.Azure.TableStorage;

/// <summary>
/// One table through the SDK's <see cref="TableClient"/>, with the outcomes the stores decide on (absent, already
/// there, stale ETag) turned into results; anything else stays a <see cref="RequestFailedException"/>. The table is
/// created once, at the first call that needs it. Retries of 408/429/5xx come from the client's pipeline.
/// </summary>
internal sealed class EntityTable(TableClient client)
{
    private const string TableNotFound = "TableNotFound";
    private readonly Lock _gate = new();
    private Task? _created;

    /// <summary>The client for one table of these options, with the shared key (Azurite) or an Entra credential.</summary>
    public static EntityTable Create(TableStorageOptions options, string tableName, TokenCredential? credential, TableClientOptions? clientOptions)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
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
            ? new TableClient(options.Endpoint!, tableName, new TableSharedKeyCredential(options.AccountName!, options.AccountKey!), clientOptions)
            : new TableClient(options.Endpoint!, tableName,
                credential ?? throw new ArgumentException("Without an AccountKey, a TokenCredential is required.", nameof(credential)),
                clientOptions));
    }

    /// <summary>
    /// Creates the table the first time any caller needs it; a failed attempt is tried again by the next. The
    /// creation is shared, so one caller giving up does not cancel it for the others waiting on it.
    /// </summary>
    public Task EnsureCreatedAsync(CancellationToken ct)
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

        return created.WaitAsync(ct);
    }

    /// <summary>Inserts the entity; its new ETag, or null when an entity with its keys already exists.</summary>
    public async Task<ETag?> InsertAsync(ITableEntity entity, CancellationToken ct)
    {
        try
        {
            return (await client.AddEntityAsync(entity, ct).ConfigureAwait(false)).Headers.ETag;
        }
        catch (RequestFailedException failure) when (failure.Status == 409 && failure.ErrorCode == "EntityAlreadyExists")
        {
            return null;
        }
    }

    /// <summary>The entity, or null when there is none with these keys (a normal answer, not an error).</summary>
    public async Task<TableEntity?> GetAsync(EntityKey key, CancellationToken ct)
    {
        try
        {
            return (await client.GetEntityAsync<TableEntity>(key.PartitionKey, key.RowKey, cancellationToken: ct).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException failure) when (failure.Status == 404 && failure.ErrorCode != TableNotFound)
        {
            return null;
        }
    }

    /// <summary>Replaces the entity only while it is still at <paramref name="etag"/>.</summary>
    public async Task<WriteOutcome> ReplaceAsync(ITableEntity entity, ETag etag, CancellationToken ct)
    {
        try
        {
            await client.UpdateEntityAsync(entity, etag, TableUpdateMode.Replace, ct).ConfigureAwait(false);
            return WriteOutcome.Written;
        }
        catch (RequestFailedException failure) when (ConditionalOutcome(failure) is { } outcome)
        {
            return outcome;
        }
    }

    /// <summary>Inserts the entity, or replaces whatever is stored under its keys.</summary>
    public Task UpsertAsync(ITableEntity entity, CancellationToken ct) =>
        client.UpsertEntityAsync(entity, TableUpdateMode.Replace, ct);

    /// <summary>Deletes the entity only while it is still at <paramref name="etag"/>; <see cref="ETag.All"/> deletes whatever is there.</summary>
    public async Task<WriteOutcome> DeleteAsync(EntityKey key, ETag etag, CancellationToken ct)
    {
        try
        {
            // The SDK answers a 404 without throwing: the entity was not there to delete.
            var response = await client.DeleteEntityAsync(key.PartitionKey, key.RowKey, etag, ct).ConfigureAwait(false);
            if (response.Status == 404 && ErrorCode(response) == TableNotFound)
            {
                throw new RequestFailedException(response);
            }

            return response.Status == 404 ? WriteOutcome.NotFound : WriteOutcome.Written;
        }
        catch (RequestFailedException failure) when (ConditionalOutcome(failure) is { } outcome)
        {
            return outcome;
        }
    }

    /// <summary>All the actions in one batch: they share a partition and either all happen or none (at most 100).</summary>
    public Task SubmitTransactionAsync(IReadOnlyList<TableTransactionAction> actions, CancellationToken ct) =>
        client.SubmitTransactionAsync(actions, ct);

    /// <summary>
    /// The entities matching <paramref name="filter"/>, page by page with the service's continuation. A page is
    /// read whole before its entities are handed out, so the caller may write to the table meanwhile.
    /// </summary>
    public async IAsyncEnumerable<TableEntity> QueryAsync(
        string? filter, int? pageSize = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var page in client.QueryAsync<TableEntity>(filter, pageSize, cancellationToken: ct).AsPages().ConfigureAwait(false))
        {
            foreach (var entity in page.Values)
            {
                yield return entity;
            }
        }
    }

    private static WriteOutcome? ConditionalOutcome(RequestFailedException failure) => failure.Status switch
    {
        412 => WriteOutcome.Conflict,
        404 when failure.ErrorCode != TableNotFound => WriteOutcome.NotFound,
        _ => null,
    };

    private static string? ErrorCode(Response response) =>
        response.Headers.TryGetValue("x-ms-error-code", out var code) ? code : null;
}
