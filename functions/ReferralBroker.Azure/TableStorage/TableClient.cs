using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using ReferralBroker.Ports;

namespace ReferralBroker.Azure.TableStorage;

internal static class TableHeaders
{
    /// <summary>What Azure.Data.Tables sends; accepted by Azure with both SharedKey and tokens, and by Azurite.</summary>
    public const string ApiVersion = "2019-02-02";
    public const string Date = "x-ms-date";
    public const string NoMetadata = "application/json;odata=nometadata";
    /// <summary>Queries need it: only with metadata does each entity of a page carry its ETag.</summary>
    public const string MinimalMetadata = "application/json;odata=minimalmetadata";
    public const string NextPartitionKey = "x-ms-continuation-NextPartitionKey";
    public const string NextRowKey = "x-ms-continuation-NextRowKey";
    public const string NextTableName = "x-ms-continuation-NextTableName";
}

/// <summary>
/// One table over the documented REST protocol, the few operations the stores need, each a request built here and
/// a switch on the status that comes back. Outcomes the stores decide on (absent, already there, stale ETag) are
/// results; anything else is a <see cref="RequestFailedException"/>. Retries of 408/429/5xx come from the pipeline.
/// </summary>
internal sealed class TableClient
{
    public const string StorageScope = "https://storage.azure.com/.default";

    private readonly HttpPipeline _pipeline;
    private readonly string _endpoint;
    private volatile bool _tableExists;

    public TableClient(HttpPipeline pipeline, Uri endpoint, string tableName)
    {
        _pipeline = pipeline;
        _endpoint = EndpointBase(endpoint);
        TableName = tableName;
    }

    public string TableName { get; }

    /// <summary>Builds the pipeline once per store: auth runs per retry so that every attempt is freshly signed.</summary>
    public static HttpPipeline CreatePipeline(TableStorageOptions options, TokenCredential? credential, ClientOptions? clientOptions)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid Table Storage options: " + string.Join(" ", errors), nameof(options));
        }

        HttpPipelinePolicy auth = options.UsesSharedKey
            ? new SharedKeyPolicy(options.AccountName!, TableStorageOptions.TryDecodeKey(options.AccountKey)!)
            : new BearerTokenAuthenticationPolicy(
                credential ?? throw new ArgumentException("Without an AccountKey, a TokenCredential is required.", nameof(credential)),
                StorageScope);
        return HttpPipelineBuilder.Build(clientOptions ?? new TableStorageClientOptions(), [], [auth], new ResponseClassifier());
    }

    /// <summary>Creates the table the first time this client needs it; racing creators both succeed.</summary>
    public async ValueTask EnsureTableAsync(CancellationToken ct)
    {
        if (!_tableExists)
        {
            await CreateIfNotExistsAsync(ct).ConfigureAwait(false);
            _tableExists = true;
        }
    }

    public async Task CreateIfNotExistsAsync(CancellationToken ct)
    {
        using var message = CreateMessage(RequestMethod.Post, "Tables", TableHeaders.NoMetadata);
        message.Request.Headers.SetValue("Prefer", "return-no-content");
        SetJsonContent(message, JsonSerializer.SerializeToUtf8Bytes(new CreateTableBody(TableName), TableStorageJsonContext.Default.CreateTableBody));
        var response = await SendAsync(message, ct).ConfigureAwait(false);
        switch (response.Status)
        {
            case 201 or 204:
            case 409 when ErrorCode(response) == "TableAlreadyExists":
                return;
            default:
                throw Failure(response);
        }
    }

    /// <summary>Inserts the entity; its new ETag, or null when an entity with its keys already exists.</summary>
    public async Task<string?> InsertAsync(TableEntity entity, CancellationToken ct)
    {
        using var message = CreateMessage(RequestMethod.Post, TableName, TableHeaders.NoMetadata);
        message.Request.Headers.SetValue("Prefer", "return-no-content");
        SetJsonContent(message, entity.ToJson());
        var response = await SendAsync(message, ct).ConfigureAwait(false);
        return response.Status switch
        {
            201 or 204 => RequireETag(response),
            409 when ErrorCode(response) == "EntityAlreadyExists" => null,
            _ => throw Failure(response),
        };
    }

    /// <summary>The entity, or null when there is none with these keys (a normal answer, not an error).</summary>
    public async Task<TableEntity?> GetAsync(EntityKey key, CancellationToken ct)
    {
        using var message = CreateMessage(RequestMethod.Get, TableKeys.EntityPath(TableName, key), TableHeaders.NoMetadata);
        var response = await SendAsync(message, ct).ConfigureAwait(false);
        switch (response.Status)
        {
            case 200:
                using (var document = JsonDocument.Parse(response.Content))
                {
                    return TableEntity.FromJson(document.RootElement, RequireETag(response));
                }

            case 404 when ErrorCode(response) != "TableNotFound":
                return null;
            default:
                throw Failure(response);
        }
    }

    /// <summary>Replaces the entity only while it is still at <paramref name="etag"/>.</summary>
    public async Task<WriteOutcome> ReplaceAsync(TableEntity entity, string etag, CancellationToken ct)
    {
        using var message = CreateMessage(RequestMethod.Put, TableKeys.EntityPath(TableName, entity.Key), TableHeaders.NoMetadata);
        message.Request.Headers.SetValue("If-Match", etag);
        SetJsonContent(message, entity.ToJson());
        return ConditionalOutcome(await SendAsync(message, ct).ConfigureAwait(false));
    }

    /// <summary>Inserts the entity, or replaces whatever is stored under its keys.</summary>
    public async Task UpsertAsync(TableEntity entity, CancellationToken ct)
    {
        using var message = CreateMessage(RequestMethod.Put, TableKeys.EntityPath(TableName, entity.Key), TableHeaders.NoMetadata);
        SetJsonContent(message, entity.ToJson());
        var response = await SendAsync(message, ct).ConfigureAwait(false);
        if (response.Status != 204)
        {
            throw Failure(response);
        }
    }

    /// <summary>Deletes the entity only while it is still at <paramref name="etag"/>; "*" deletes whatever is there.</summary>
    public async Task<WriteOutcome> DeleteAsync(EntityKey key, string etag, CancellationToken ct)
    {
        using var message = CreateMessage(RequestMethod.Delete, TableKeys.EntityPath(TableName, key), TableHeaders.NoMetadata);
        message.Request.Headers.SetValue("If-Match", etag);
        return ConditionalOutcome(await SendAsync(message, ct).ConfigureAwait(false));
    }

    public async IAsyncEnumerable<TableEntity> QueryAsync(
        string? filter, int? pageSize = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var json in QueryJsonAsync(filter, pageSize, ct).ConfigureAwait(false))
        {
            yield return TableEntity.FromJson(json, etag: null);
        }
    }

    /// <summary>
    /// The entities matching <paramref name="filter"/> as the service returned them, following continuations. A
    /// page is read whole before its entities are handed out, so the caller may write to the table meanwhile.
    /// </summary>
    public async IAsyncEnumerable<JsonElement> QueryJsonAsync(
        string? filter, int? pageSize = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        string? nextPartitionKey = null, nextRowKey = null;
        do
        {
            using var message = CreateMessage(RequestMethod.Get, TableName + "()", TableHeaders.MinimalMetadata);
            var uri = message.Request.Uri;
            if (filter is not null)
            {
                uri.AppendQuery("$filter", filter, escapeValue: true);
            }

            if (pageSize is { } top)
            {
                uri.AppendQuery("$top", top.ToString(CultureInfo.InvariantCulture), escapeValue: true);
            }

            if (nextPartitionKey is not null)
            {
                uri.AppendQuery("NextPartitionKey", nextPartitionKey, escapeValue: true);
                if (nextRowKey is not null)
                {
                    uri.AppendQuery("NextRowKey", nextRowKey, escapeValue: true);
                }
            }

            var response = await SendAsync(message, ct).ConfigureAwait(false);
            if (response.Status != 200)
            {
                throw Failure(response);
            }

            foreach (var entity in ReadPage(response))
            {
                yield return entity;
            }

            nextPartitionKey = response.Headers.TryGetValue(TableHeaders.NextPartitionKey, out var pk) ? pk : null;
            nextRowKey = response.Headers.TryGetValue(TableHeaders.NextRowKey, out var rk) ? rk : null;
        }
        while (nextPartitionKey is not null);
    }

    /// <summary>Every table of the account; used to inspect what the broker holds, never on a request path.</summary>
    public static async IAsyncEnumerable<string> ListTablesAsync(
        HttpPipeline pipeline, Uri endpoint, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var lister = new TableClient(pipeline, endpoint, "Tables");
        string? nextTableName = null;
        do
        {
            using var message = lister.CreateMessage(RequestMethod.Get, "Tables", TableHeaders.NoMetadata);
            if (nextTableName is not null)
            {
                message.Request.Uri.AppendQuery("NextTableName", nextTableName, escapeValue: true);
            }

            var response = await lister.SendAsync(message, ct).ConfigureAwait(false);
            if (response.Status != 200)
            {
                throw Failure(response);
            }

            foreach (var table in ReadPage(response))
            {
                if (table.TryGetProperty(nameof(CreateTableBody.TableName), out var name) && name.GetString() is { } tableName)
                {
                    yield return tableName;
                }
            }

            nextTableName = response.Headers.TryGetValue(TableHeaders.NextTableName, out var next) ? next : null;
        }
        while (nextTableName is not null);
    }

    private static List<JsonElement> ReadPage(Response response)
    {
        using var document = JsonDocument.Parse(response.Content);
        return document.RootElement.TryGetProperty("value", out var value)
            ? [.. value.EnumerateArray().Select(e => e.Clone())]
            : [];
    }

    private HttpMessage CreateMessage(RequestMethod method, string relativePath, string accept)
    {
        var message = _pipeline.CreateMessage();
        var request = message.Request;
        request.Method = method;
        request.Uri.Reset(new Uri(_endpoint + relativePath));
        request.Headers.SetValue("x-ms-version", TableHeaders.ApiVersion);
        // SharedKey re-dates each attempt; with tokens this one stays, which the service accepts.
        request.Headers.SetValue(TableHeaders.Date, DateTimeOffset.UtcNow.ToString("R", CultureInfo.InvariantCulture));
        request.Headers.SetValue("DataServiceVersion", "3.0");
        request.Headers.SetValue("MaxDataServiceVersion", "3.0;NetFx");
        request.Headers.SetValue("Accept", accept);
        return message;
    }

    private static void SetJsonContent(HttpMessage message, byte[] json)
    {
        // Plain "application/json": the signature covers Content-Type as sent, so it must not be rewritten on the way.
        message.Request.Headers.SetValue("Content-Type", "application/json");
        message.Request.Content = RequestContent.Create(json);
    }

    private async Task<Response> SendAsync(HttpMessage message, CancellationToken ct)
    {
        await _pipeline.SendAsync(message, ct).ConfigureAwait(false);
        return message.Response;
    }

    private static WriteOutcome ConditionalOutcome(Response response) => response.Status switch
    {
        204 => WriteOutcome.Written,
        412 => WriteOutcome.Conflict,
        404 when ErrorCode(response) != "TableNotFound" => WriteOutcome.NotFound,
        _ => throw Failure(response),
    };

    private static string RequireETag(Response response) =>
        response.Headers.TryGetValue("ETag", out var etag) && !string.IsNullOrEmpty(etag)
            ? etag
            : throw new RequestFailedException(response.Status, "The Table service answered without an ETag.");

    private static string? ErrorCode(Response response) => TableErrorParser.ReadErrorCode(response);

    private static RequestFailedException Failure(Response response) =>
        new(response, innerException: null, TableErrorParser.Instance);

    private static string EndpointBase(Uri endpoint)
    {
        var text = endpoint.AbsoluteUri;
        return text.EndsWith('/') ? text : text + "/";
    }
}
