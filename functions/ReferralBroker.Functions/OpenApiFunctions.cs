using Microsoft.Azure.Functions.Worker;
using ReferralBroker.Gate;

namespace ReferralBroker.Functions;

/// <summary>
/// /openapi/v1.json. The worker has no ASP.NET endpoints to generate it from, so it serves the copy the embedded host
/// generated, committed as OpenApi/v1.json and built into this assembly; a test fails when the two differ.
/// </summary>
[Gate(Access.Anyone)]
internal static class OpenApiFunctions
{
    private const string Resource = "ReferralBroker.Functions.OpenApi.v1.json";

    private static readonly Lazy<byte[]> Committed = new(() =>
    {
        using var stream = typeof(OpenApiFunctions).Assembly.GetManifestResourceStream(Resource)
            ?? throw new InvalidOperationException($"{Resource} is not built into the worker.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    /// <summary>Where the committed copy lives in the repository (the test that keeps it current writes it there).</summary>
    public static string CommittedPath(string repositoryRoot) =>
        Path.Combine(repositoryRoot, "functions", "ReferralBroker.Functions", "OpenApi", "v1.json");

    [Function("OpenApiDocument")]
    public static IResult Document([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "openapi/v1.json")] HttpRequest request) =>
        TypedResults.Bytes(Committed.Value, "application/json;charset=utf-8");
}
