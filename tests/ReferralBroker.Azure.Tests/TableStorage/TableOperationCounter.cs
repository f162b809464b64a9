using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Core;
using Azure.Core.Pipeline;

namespace ReferralBroker.Azure.Tests.TableStorage;

/// <summary>
/// Counts the Table service requests the broker's adapters send, as the service bills them: one transaction per
/// HTTP request, retries included (added <see cref="HttpPipelinePosition.PerRetry"/>). Each request is named
/// <c>table.kind.operation</c>: the table without its prefix (<c>referrals</c>, <c>idempotency</c>, <c>directory</c>),
/// for the referrals table the kind of entity or query (<c>record</c>, <c>token</c> index, <c>org</c> index,
/// <c>report</c> counter, or <c>scan</c>: a query whose filter names no partition), and the operation: <c>get</c>
/// (a point read), <c>query</c> (one page), <c>insert</c>, <c>replace</c>, <c>upsert</c>, <c>merge</c>,
/// <c>delete</c>, <c>batch</c> (a transaction; its sizes in <see cref="BatchSizes"/>), <c>createTable</c>.
/// </summary>
internal sealed partial class TableOperationCounter : HttpPipelinePolicy
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly List<int> _batchSizes = [];

    public IReadOnlyDictionary<string, int> Snapshot()
    {
        lock (_gate)
        {
            return new Dictionary<string, int>(_counts, StringComparer.Ordinal);
        }
    }

    public IReadOnlyList<int> BatchSizes
    {
        get
        {
            lock (_gate)
            {
                return [.. _batchSizes];
            }
        }
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Count(message.Request);
        ProcessNext(message, pipeline);
    }

    public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Count(message.Request);
        return ProcessNextAsync(message, pipeline);
    }

    private void Count(Request request)
    {
        var (name, batchSize) = Classify(request);
        lock (_gate)
        {
            _counts[name] = _counts.GetValueOrDefault(name) + 1;
            if (batchSize is { } size)
            {
                _batchSizes.Add(size);
            }
        }
    }

    /// <summary>The request's name, and for a batch the number of operations in it.</summary>
    private static (string Name, int? BatchSize) Classify(Request request)
    {
        var path = Uri.UnescapeDataString(request.Uri.Path);
        var last = path[(path.LastIndexOf('/') + 1)..];
        var method = request.Method.Method.ToUpperInvariant();
        if (last == "Tables")
        {
            return ("tables." + (method == "POST" ? "createTable" : method.ToLowerInvariant()), null);
        }

        if (last == "$batch")
        {
            var body = Body(request) ?? "";
            var size = ApplicationHttpPart().Count(body);
            // The entities of one transaction share their partition: the first one names the kind.
            var key = EntityKeyInBatch().Match(body);
            var table = BatchTable().Match(body) is { Success: true } t ? t.Groups["table"].Value : "unknown";
            return ($"{Table(table)}{(key.Success ? Kind(Table(table), key.Groups["pk"].Value, key.Groups["rk"].Value) : "")}.batch", size);
        }

        var paren = last.IndexOf('(', StringComparison.Ordinal);
        var tableName = Table(paren < 0 ? last : last[..paren]);
        var keys = EntityKeyInPath().Match(last);
        string kind;
        if (keys.Success)
        {
            kind = Kind(tableName, keys.Groups["pk"].Value.Replace("''", "'", StringComparison.Ordinal), keys.Groups["rk"].Value.Replace("''", "'", StringComparison.Ordinal));
        }
        else if (method == "GET")
        {
            kind = QueryKind(tableName, Query(request.Uri.Query, "$filter") ?? "");
        }
        else if (method == "POST" && Body(request) is { } json)
        {
            using var entity = JsonDocument.Parse(json);
            kind = Kind(tableName, entity.RootElement.GetProperty("PartitionKey").GetString() ?? "", entity.RootElement.GetProperty("RowKey").GetString() ?? "");
        }
        else
        {
            kind = "";
        }

        var operation = method switch
        {
            "GET" => keys.Success ? "get" : "query",
            "POST" => "insert",
            "PUT" => request.Headers.TryGetValue("If-Match", out _) ? "replace" : "upsert",
            "PATCH" or "MERGE" => "merge",
            "DELETE" => "delete",
            _ => method.ToLowerInvariant(),
        };
        return ($"{tableName}{kind}.{operation}", null);
    }

    /// <summary>The table without the test's prefix: every table the broker has ends in one of these.</summary>
    private static string Table(string name) =>
        new[] { "referrals", "idempotency", "directory" }.FirstOrDefault(t => name.EndsWith(t, StringComparison.Ordinal)) ?? "other";

    private static string Kind(string table, string partitionKey, string rowKey) => table != "referrals" ? "" : rowKey switch
    {
        "referral" => ".record",
        "token" => ".token",
        _ when partitionKey.StartsWith("org:", StringComparison.Ordinal) => ".org",
        _ when partitionKey.StartsWith("report:", StringComparison.Ordinal) => ".report",
        _ => ".other",
    };

    private static string QueryKind(string table, string filter) => table != "referrals" ? "" : filter switch
    {
        _ when filter.Contains("PartitionKey eq 'org:", StringComparison.Ordinal) => ".org",
        _ when filter.Contains("PartitionKey ge 'report:", StringComparison.Ordinal) => ".report",
        _ when filter.Contains("PartitionKey", StringComparison.Ordinal) => ".partition",
        _ => ".scan",
    };

    private static string? Query(string query, string name)
    {
        foreach (var pair in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && Uri.UnescapeDataString(pair[..equals]) == name)
            {
                return Uri.UnescapeDataString(pair[(equals + 1)..].Replace('+', ' '));
            }
        }

        return null;
    }

    private static string? Body(Request request)
    {
        if (request.Content is null)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        request.Content.WriteTo(buffer, CancellationToken.None);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    [GeneratedRegex(@"PartitionKey='(?<pk>(?:[^']|'')*)',RowKey='(?<rk>(?:[^']|'')*)'")]
    private static partial Regex EntityKeyInPath();

    [GeneratedRegex(@"Content-Type: application/http", RegexOptions.IgnoreCase)]
    private static partial Regex ApplicationHttpPart();

    [GeneratedRegex(@"/(?<table>[A-Za-z][A-Za-z0-9]*)\(PartitionKey='(?<pk>(?:[^']|'')*)',RowKey='(?<rk>(?:[^']|'')*)'\)")]
    private static partial Regex EntityKeyInBatch();

    [GeneratedRegex(@"(?:POST|PUT|PATCH|MERGE|DELETE) [^ ]*/(?<table>[A-Za-z][A-Za-z0-9]*)[(\s]")]
    private static partial Regex BatchTable();
}
