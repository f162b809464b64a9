using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ReferralBroker.Tests.Deployment;

/// <summary>
/// The app, started only to read its endpoints: embedded (temporary data folder, no background work) or hosted as a
/// custom handler ("Broker:Hosting" = "Azure"). In Production, as deployed. Settings validation is switched off in
/// Azure mode: these tests are about routes, and the Azure settings have their own tests.
/// </summary>
internal sealed class RouteInspectionApp(string hosting) : WebApplicationFactory<Program>
{
    public const string Embedded = "Embedded";
    public const string Azure = "Azure";

    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("package-routes-");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        // Host settings: Program reads the hosting mode before Build.
        builder.UseSetting("Broker:DataPath", _data.FullName);
        builder.UseSetting("Broker:Queue:RunDispatcher", "false");
        builder.UseSetting("Broker:Queue:RunSweep", "false");
        builder.UseSetting("Broker:Demo:OrgApiKey", "package-routes-test-key");
        if (hosting == Azure)
        {
            builder.UseSetting("Broker:Hosting", "Azure");
            builder.ConfigureTestServices(services => services.RemoveAll<IStartupValidator>());
        }

        builder.ConfigureLogging(logging => logging.ClearProviders());
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _data.Delete(recursive: true);
    }
}

/// <summary>A URL the app answers: a sample path for one of its route endpoints, or a static file.</summary>
/// <param name="Method">Upper case; null when the endpoint takes any method.</param>
internal sealed record AppRoute(string Description, string? Method, string SamplePath);

/// <summary>An HTTP function's public route as the host matches it: routePrefix + route, with its methods.</summary>
internal sealed class FunctionRoute
{
    private readonly TemplateMatcher _matcher;

    public FunctionRoute(PackagedFunction function, string routePrefix)
    {
        Function = function.Name;
        Methods = function.Methods;
        Template = string.Join('/', new[] { routePrefix, function.Route ?? function.Name }.Select(p => p.Trim('/')).Where(p => p.Length > 0));
        Pattern = RoutePatternFactory.Parse(Template);
        _matcher = new TemplateMatcher(new RouteTemplate(Pattern), new RouteValueDictionary(Pattern.Defaults));
    }

    public string Function { get; }
    public string Template { get; }
    public RoutePattern Pattern { get; }
    public IReadOnlySet<string>? Methods { get; }

    public override string ToString() => $"{Function} ({(Methods is null ? "any method" : string.Join(",", Methods))} /{Template})";

    /// <summary>Would the host route this request to this function (and so forward it to the app)?</summary>
    public bool Accepts(AppRoute route, IInlineConstraintResolver constraints)
    {
        if (Methods is not null && (route.Method is null || !Methods.Contains(route.Method)))
        {
            return false;
        }

        var values = new RouteValueDictionary();
        return _matcher.TryMatch(new PathString(route.SamplePath), values)
            && Pattern.ParameterPolicies.All(p => !values.ContainsKey(p.Key)
                || AppRoutes.Constraints(p.Value, constraints).All(c => c.Match(null, null, p.Key, values, RouteDirection.IncomingRequest)));
    }
}

/// <summary>The app's URLs, as requests with sample values, and which HTTP functions reach them.</summary>
internal static class AppRoutes
{
    /// <summary>
    /// Every route endpoint of the app, one per method, but the root page (no function can take "/": the host
    /// keeps it for its own home page) and the trigger invocation endpoints (POST /{FunctionName}, host only).
    /// </summary>
    public static List<AppRoute> Endpoints(IServiceProvider services, IReadOnlySet<string> triggerFunctions, List<string> problems)
    {
        var constraints = services.GetRequiredService<IInlineConstraintResolver>();
        var routes = new List<AppRoute>();
        foreach (var endpoint in services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var pattern = endpoint.RoutePattern;
            if (endpoint.Metadata.GetMetadata<ISuppressMatchingMetadata>()?.SuppressMatching == true
                || pattern.PathSegments.Count == 0
                || triggerFunctions.Contains(pattern.RawText?.Trim('/') ?? ""))
            {
                continue;
            }

            if (SamplePath(pattern, constraints) is not { } path)
            {
                problems.Add($"{endpoint.DisplayName}: no sample value satisfies the constraints of {pattern.RawText}");
                continue;
            }

            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods;
            if (methods is null || methods.Count == 0)
            {
                routes.Add(new AppRoute($"endpoint {pattern.RawText} (any method)", null, path));
            }
            else
            {
                routes.AddRange(methods.Select(m => new AppRoute($"endpoint {m} {pattern.RawText}", m.ToUpperInvariant(), path)));
            }
        }

        return routes;
    }

    /// <summary>
    /// The static files the app serves from wwwroot (UseStaticFiles, at the site root), but the top-level HTML pages
    /// and their compressed copies: page endpoints serve those under their own routes (/status, /partner/{id}).
    /// </summary>
    public static List<AppRoute> StaticFiles(string webRoot) =>
    [
        .. Directory.EnumerateFiles(webRoot, "*", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(webRoot, path).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(file => file.Contains('/', StringComparison.Ordinal) || !file.Contains(".html", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .Select(file => new AppRoute($"static file wwwroot/{file}", "GET", "/" + file)),
    ];

    /// <summary>The package's HTTP functions against the app's endpoints and static files, while the app runs.</summary>
    public static async Task<List<string>> CheckAsync(
        string package, string hosting, Func<List<FunctionRoute>, List<AppRoute>, IInlineConstraintResolver, List<string>> check)
    {
        var packaged = PackagedFunction.LoadAll(package);
        var functions = HttpFunctions(packaged, PackagedHost.Load(package).RoutePrefix);
        var triggers = packaged.Where(f => !f.IsHttp).Select(f => f.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var problems = new List<string>();

        await using var app = new RouteInspectionApp(hosting);
        var constraints = app.Services.GetRequiredService<IInlineConstraintResolver>();
        var routes = Endpoints(app.Services, triggers, problems);
        Assert.NotEmpty(routes);
        routes.AddRange(StaticFiles(PackageScript.SourceWebRoot));
        problems.AddRange(check(functions, routes, constraints));
        return problems;
    }

    /// <summary>
    /// The host posts every non-HTTP invocation to POST /{FunctionName} (reference §1.4): the trigger functions of
    /// the package for which the app, hosted as a custom handler, has no such endpoint.
    /// </summary>
    public static async Task<List<string>> UnansweredTriggersAsync(string package)
    {
        var triggers = PackagedFunction.LoadAll(package).Where(f => !f.IsHttp).Select(f => f.Name).ToList();
        Assert.NotEmpty(triggers);

        await using var app = new RouteInspectionApp(RouteInspectionApp.Azure);
        var endpoints = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.Contains("POST") == true)
            .Select(e => new TemplateMatcher(new RouteTemplate(e.RoutePattern), new RouteValueDictionary(e.RoutePattern.Defaults)))
            .ToList();
        return
        [
            .. triggers
                .Where(name => !endpoints.Any(e => e.TryMatch(new PathString($"/{name}"), [])))
                .Select(name => $"POST /{name} has no endpoint: the host's invocations of {name} would get 404 and fail"),
        ];
    }

    public static List<FunctionRoute> HttpFunctions(IReadOnlyList<PackagedFunction> functions, string routePrefix) =>
        [.. functions.Where(f => f.IsHttp).Select(f => new FunctionRoute(f, routePrefix))];

    /// <summary>App routes that no HTTP function forwards.</summary>
    public static List<string> Unreachable(IEnumerable<AppRoute> routes, IReadOnlyList<FunctionRoute> functions, IInlineConstraintResolver constraints)
    {
        List<string> problems =
        [
            .. routes.Where(r => !functions.Any(f => f.Accepts(r, constraints)))
                .Select(r => $"{r.Description}: {r.Method ?? "any method"} {r.SamplePath} reaches no HTTP function"),
        ];
        if (problems.Count > 0)
        {
            problems.Add($"(the HTTP functions: {string.Join("; ", functions)})");
        }

        return problems;
    }

    /// <summary>HTTP functions that forward nothing the app answers.</summary>
    public static List<string> Unused(IReadOnlyList<FunctionRoute> functions, IReadOnlyList<AppRoute> routes, IInlineConstraintResolver constraints) =>
    [
        .. functions.Where(f => !routes.Any(r => f.Accepts(r, constraints)))
            .Select(f => $"{f} matches no app endpoint or static file"),
    ];

    /// <summary>A request path for the pattern, each parameter given a value its constraints accept.</summary>
    public static string? SamplePath(RoutePattern pattern, IInlineConstraintResolver constraints)
    {
        var segments = new List<string>();
        foreach (var segment in pattern.PathSegments)
        {
            var text = new StringBuilder();
            foreach (var part in segment.Parts)
            {
                switch (part)
                {
                    case RoutePatternLiteralPart literal:
                        text.Append(literal.Content);
                        break;
                    case RoutePatternSeparatorPart separator:
                        text.Append(separator.Content);
                        break;
                    case RoutePatternParameterPart parameter:
                        var policies = pattern.ParameterPolicies.TryGetValue(parameter.Name, out var p) ? p : [];
                        var sample = SampleValue(parameter, Constraints(policies, constraints).ToList());
                        if (sample is null)
                        {
                            return null;
                        }

                        text.Append(sample);
                        break;
                }
            }

            segments.Add(text.ToString());
        }

        return "/" + string.Join('/', segments);
    }

    public static IEnumerable<IRouteConstraint> Constraints(IEnumerable<RoutePatternParameterPolicyReference> policies, IInlineConstraintResolver resolver) =>
        policies.Select(p => p.ParameterPolicy as IRouteConstraint ?? (p.Content is { } content ? resolver.ResolveConstraint(content) : null))
            .OfType<IRouteConstraint>();

    private static string? SampleValue(RoutePatternParameterPart parameter, List<IRouteConstraint> constraints)
    {
        string[] candidates = parameter.IsCatchAll
            ? [$"sample-{parameter.Name}/more"]
            : [$"sample-{parameter.Name}", "sample", "42", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "true", "2026-11-23"];
        return candidates.FirstOrDefault(value => constraints.All(c =>
            c.Match(null, null, parameter.Name, new RouteValueDictionary { [parameter.Name] = value }, RouteDirection.IncomingRequest)));
    }
}
