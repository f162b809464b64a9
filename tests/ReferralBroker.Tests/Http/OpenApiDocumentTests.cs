using System.Net;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using ReferralBroker.Functions;
using ReferralBroker.Http;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Tests.Http;

/// <summary>
/// /openapi/v1.json against the embedded app's own route table: a public route missing from it, a body or a problem
/// left undeclared, a dangling reference, or a committed copy (the one the Functions worker serves) that differs
/// from what the embedded host generates, fails here.
/// </summary>
public sealed class OpenApiDocumentTests : IClassFixture<OpenApiDocumentTests.Generated>
{
    public const string UpdateSetting = "REFERRALBROKER_UPDATE_OPENAPI";

    private static readonly string[] BodyMethods = ["POST", "PUT", "PATCH"];
    private readonly Generated _generated;

    public OpenApiDocumentTests(Generated generated) => _generated = generated;

    private JsonNode Document => _generated.Document;

    [Fact]
    public void The_committed_document_the_worker_serves_is_the_one_the_embedded_host_generates()
    {
        var path = OpenApiFunctions.CommittedPath(Browser.Pages.RepositoryRoot);
        if (Environment.GetEnvironmentVariable(UpdateSetting) == "1")
        {
            File.WriteAllText(path, _generated.Text.ReplaceLineEndings("\n").TrimEnd('\n') + "\n");
        }

        var committed = JsonNode.Parse(File.ReadAllText(path));
        Assert.True(JsonNode.DeepEquals(committed, Document),
            $"{Path.GetRelativePath(Browser.Pages.RepositoryRoot, path)} is not what the embedded host generates for /openapi/v1.json. " +
            $"Describe the route in its MapXxx (ApiDescription: .Body<T>() or .NoBody(), .Refuses(...), .Query(...), .Produces<T>()), then " +
            $"regenerate the copy: {UpdateSetting}=1 dotnet test tests/ReferralBroker.Tests --filter \"FullyQualifiedName~OpenApiDocumentTests\" rewrites it; " +
            "then build and run them again without it (the worker embeds the file at build) and commit the file.");
    }

    [Fact]
    public async Task The_worker_ships_the_committed_document_as_its_own()
    {
        var committed = JsonNode.Parse(File.ReadAllText(OpenApiFunctions.CommittedPath(Browser.Pages.RepositoryRoot)));
        var served = OpenApiFunctions.Document(new DefaultHttpContext().Request);
        var context = new DefaultHttpContext { RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider() };
        context.Response.Body = new MemoryStream();
        await served.ExecuteAsync(context);

        Assert.StartsWith("application/json", context.Response.ContentType, StringComparison.Ordinal);
        Assert.True(JsonNode.DeepEquals(committed, JsonNode.Parse(((MemoryStream)context.Response.Body).ToArray())));
    }

    [Fact]
    public async Task The_document_is_public_behind_the_gate_with_the_security_headers_and_names_no_server()
    {
        using var app = new BrokerApp();
        using var response = await app.CreateClient().GetAsync(ApiDescription.DocumentPath);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.Contains("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Null(Document["servers"]);
    }

    [Fact]
    public void Every_api_route_of_the_app_is_in_the_document_with_its_method()
    {
        var missing = ApiRoutes().Where(r => Operation(r.Method, r.Path) is null).Select(r => $"{r.Method} {r.Path}").ToList();

        Assert.True(missing.Count == 0, $"Not in /openapi/v1.json: {string.Join(", ", missing)}. Pages and assets take .ExcludeFromDescription().");
        var paths = Document["paths"]!.AsObject();
        Assert.All(paths, p => Assert.StartsWith("/api/", p.Key, StringComparison.Ordinal));
        Assert.Equal(ApiRoutes().Count, paths.Sum(p => p.Value!.AsObject().Count));
    }

    [Fact]
    public void Every_post_and_put_declares_its_body_or_that_it_reads_none()
    {
        var undeclared = new List<string>();
        foreach (var route in ApiRoutes().Where(r => BodyMethods.Contains(r.Method)))
        {
            var accepts = route.Endpoint.Metadata.GetMetadata<ApiBody>() is not null;
            var none = route.Endpoint.Metadata.GetMetadata<NoRequestBody>() is not null;
            var body = Operation(route.Method, route.Path)?["requestBody"]?["content"]?.AsObject();
            if (accepts == none || accepts != body is { Count: > 0 })
            {
                undeclared.Add($"{route.Method} {route.Path}");
            }
        }

        Assert.True(undeclared.Count == 0, $"Say .Body<T>() or .NoBody() for: {string.Join(", ", undeclared)}.");
        // .Accepts<T>() would make routing answer 415 to another content type before the gate (and its 401) runs.
        Assert.Empty(ApiRoutes().Where(r => r.Endpoint.Metadata.GetMetadata<IAcceptsMetadata>() is not null).Select(r => $"{r.Method} {r.Path} has .Accepts"));
    }

    [Fact]
    public void Every_route_lists_its_problem_responses_as_problem_json()
    {
        var silent = new List<string>();
        foreach (var route in ApiRoutes())
        {
            var responses = Operation(route.Method, route.Path)?["responses"]?.AsObject() ?? [];
            var problems = responses.Where(r => r.Key[0] is '4' or '5').ToList();
            // A handler that can answer a problem declares which (.Refuses, or .Body<T>() for 400 and 413); the gate's
            // own (401, 403, 429, 500) come from the route's access rule.
            var answersProblems = route.Endpoint.Metadata.GetMetadata<MethodInfo>()?.ReturnType.ToString().Contains(nameof(ProblemHttpResult), StringComparison.Ordinal) == true;
            var declared = route.Endpoint.Metadata.OfType<IProducesResponseTypeMetadata>().Any(m => m.StatusCode >= 400);
            if ((answersProblems && !declared) || !responses.ContainsKey("500")
                || problems.Any(p => p.Value?["content"]?["application/problem+json"]?["schema"] is null)
                || !responses.Any(r => r.Key[0] == '2'))
            {
                silent.Add($"{route.Method} {route.Path}");
            }
        }

        Assert.True(silent.Count == 0, $"Without their problem (or success) responses: {string.Join(", ", silent)}.");
    }

    [Fact]
    public void Every_route_value_is_a_required_path_parameter()
    {
        var missing = new List<string>();
        foreach (var route in ApiRoutes())
        {
            var parameters = Operation(route.Method, route.Path)?["parameters"]?.AsArray() ?? [];
            missing.AddRange(route.Endpoint.RoutePattern.Parameters
                .Where(p => !parameters.Any(q => (string?)q!["in"] == "path" && (string?)q["name"] == p.Name && (bool?)q["required"] == true))
                .Select(p => $"{route.Method} {route.Path}: {p.Name}"));
        }

        Assert.Empty(missing);
    }

    [Fact]
    public void A_property_that_may_be_absent_is_not_required()
    {
        var schemas = Document["components"]!["schemas"]!.AsObject();
        var client = schemas["SubmissionRequest"]!["properties"]!["client"]!;
        Assert.Equal(5, client["properties"]!.AsObject().Count);
        Assert.Empty(client["required"]?.AsArray() ?? []);
        var submission = schemas["SubmissionRequest"]!["required"]!.AsArray().Select(n => (string?)n).ToList();
        Assert.Equal(["category", "partnerId", "consent", "client"], submission);
        Assert.DoesNotContain("pause", schemas["PartnerAdminView"]!["required"]!.AsArray().Select(n => (string?)n));
    }

    [Fact]
    public void Keyed_routes_name_their_scheme_and_the_partner_routes_the_capability_header()
    {
        var schemes = Document["components"]!["securitySchemes"]!.AsObject();
        Assert.Equal("bearer", (string?)schemes["organisationKey"]!["scheme"]);
        Assert.Equal("bearer", (string?)schemes["coordinatorKey"]!["scheme"]);
        Assert.Equal("X-Referral-Capability", (string?)schemes["partnerCapability"]!["name"]);
        Assert.Equal("header", (string?)schemes["partnerCapability"]!["in"]);

        foreach (var route in ApiRoutes())
        {
            var operation = Operation(route.Method, route.Path)!;
            var named = operation["security"]?.AsArray().SelectMany(s => s!.AsObject().Select(p => p.Key)).ToList() ?? [];
            var access = route.Endpoint.Metadata.GetMetadata<ReferralBroker.Gate.GateAttribute>()!.Access;
            string[] expected = access switch
            {
                ReferralBroker.Gate.Access.Organisation or ReferralBroker.Gate.Access.OrganisationSystem => ["organisationKey"],
                ReferralBroker.Gate.Access.Coordinator => ["coordinatorKey"],
                ReferralBroker.Gate.Access.Staff => ["organisationKey", "coordinatorKey"],
                ReferralBroker.Gate.Access.Partner => ["partnerCapability"],
                _ => [],
            };
            Assert.True(named.SequenceEqual(expected), $"{route.Method} {route.Path} ({access}): {string.Join(",", named)}");
            if (expected.Contains("organisationKey") || expected.Contains("coordinatorKey"))
            {
                Assert.True(operation["responses"]!["401"] is not null, $"{route.Method} {route.Path} lacks its 401.");
            }
        }
    }

    [Fact]
    public void The_document_is_openapi_3_with_unique_operation_ids_and_every_reference_resolves()
    {
        Assert.StartsWith("3.", (string?)Document["openapi"], StringComparison.Ordinal);
        var ids = Document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject().Select(o => (string?)o.Value!["operationId"])).ToList();
        Assert.DoesNotContain(null, ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());

        var references = new List<string>();
        Collect(Document, references);
        Assert.NotEmpty(references);
        Assert.Empty(references.Distinct().Where(r => Resolve(r) is null).Select(r => $"unresolved {r}"));
    }

    private static void Collect(JsonNode? node, List<string> references)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, value) in o)
                {
                    if (name == "$ref")
                    {
                        references.Add((string)value!);
                    }
                    else
                    {
                        Collect(value, references);
                    }
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    Collect(item, references);
                }

                break;
        }
    }

    private JsonNode? Resolve(string reference)
    {
        if (!reference.StartsWith("#/", StringComparison.Ordinal))
        {
            return null;
        }

        var node = Document;
        foreach (var segment in reference[2..].Split('/').Select(s => s.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)))
        {
            node = node is JsonObject o && o.TryGetPropertyValue(segment, out var next) ? next! : null;
            if (node is null)
            {
                return null;
            }
        }

        return node;
    }

    private JsonNode? Operation(string method, string path) => Document["paths"]?[path]?[method.ToLowerInvariant()];

    private List<(string Method, string Path, RouteEndpoint Endpoint)> ApiRoutes() => _generated.Routes;

    /// <summary>One embedded app for the class: its document and its route table.</summary>
    public sealed class Generated : IDisposable
    {
        private readonly BrokerApp _app = new();

        public Generated()
        {
            Text = _app.CreateClient().GetStringAsync(ApiDescription.DocumentPath).GetAwaiter().GetResult();
            Document = JsonNode.Parse(Text)!;
            Routes = [.. _app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
                .Where(e => e.RoutePattern.RawText!.StartsWith("/api/", StringComparison.Ordinal))
                .SelectMany(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods
                    .Select(m => (m, "/" + e.RoutePattern.RawText!.Trim('/'), e)))];
        }

        public string Text { get; }

        public JsonNode Document { get; }

        public List<(string Method, string Path, RouteEndpoint Endpoint)> Routes { get; }

        public void Dispose() => _app.Dispose();
    }
}
