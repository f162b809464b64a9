using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using ReferralBroker.Functions;
using ReferralBroker.Gate;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Tests.Functions;

/// <summary>The generated functions.metadata against the embedded app's own route table: they cannot drift apart.</summary>
public sealed class FunctionMetadataTests
{
    private static readonly string[] Dispatches = ["DispatchHealth", "DispatchLegal", "DispatchEmployment", "DispatchOther"];

    /// <summary>"/api/referrals/" and "api/referrals" are one route: the host adds the empty routePrefix and a leading '/'.</summary>
    private static string Normalised(string template) => template.Trim('/');

    [Fact]
    public void Every_public_route_of_the_embedded_app_has_exactly_one_anonymous_function_with_its_template_method_and_rule()
    {
        using var app = new BrokerApp();
        var endpoints = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            // The root is the Functions host's own page: no function can take it. The development mailbox is the
            // embedded default's own mail mode: the Functions hosting sends mail through SendGrid.
            .Where(e => Normalised(e.RoutePattern.RawText!).Length > 0 && e.RoutePattern.RawText != Embedded.DevelopmentMailboxPage.Path)
            .SelectMany(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods.Select(method =>
                (Key: $"{method} {Normalised(e.RoutePattern.RawText!)}", Rule: e.Metadata.GetMetadata<GateAttribute>())))
            .ToList();
        var functions = FunctionsMetadata.Read().Where(f => f.Trigger == "httpTrigger").ToList();
        var routes = functions.SelectMany(f => f.Methods.Select(m => (Key: $"{m} {Normalised(f.Route!)}", f.Name))).ToList();

        Assert.Equal(endpoints.Select(e => e.Key).Order(), routes.Select(r => r.Key).Order());
        Assert.All(routes.GroupBy(r => r.Key), g => Assert.Single(g));
        Assert.All(functions, f => Assert.Equal("anonymous", f.AuthLevel, ignoreCase: true));
        Assert.All(functions, f => Assert.Single(f.Methods));

        // The same access rule in both hostings, route by route: a function with a weaker rule fails here.
        var rules = new FunctionRules();
        foreach (var endpoint in endpoints)
        {
            var function = routes.Single(r => r.Key == endpoint.Key).Name;
            Assert.True(endpoint.Rule is not null, $"{endpoint.Key} has no [Gate] rule in the embedded app.");
            var rule = rules.For(function);
            Assert.True((endpoint.Rule.Access, endpoint.Rule.Limit) == (rule.Access, rule.Limit),
                $"{endpoint.Key}: embedded {endpoint.Rule.Access}/{endpoint.Rule.Limit}, function {function} {rule.Access}/{rule.Limit}.");
        }
    }

    [Fact]
    public void Dispatch_runs_as_a_timer_per_category_subscription_and_the_sweep_as_its_own_timer_on_their_app_settings()
    {
        var timers = FunctionsMetadata.Read().Where(f => f.Trigger == "timerTrigger").ToDictionary(f => f.Name, f => f.Schedule);

        Assert.Equal([.. Dispatches.Order(), "Sweep"], timers.Keys.Order());
        Assert.All(Dispatches, d => Assert.Equal("%DispatchSchedule%", timers[d]));
        Assert.Equal("%SweepSchedule%", timers["Sweep"]);
        Assert.DoesNotContain(FunctionsMetadata.Read(), f => f.Trigger is not ("httpTrigger" or "timerTrigger"));
    }

    [Fact]
    public void The_shipped_host_json_keeps_todays_paths_and_loads_no_bundle_or_handler()
    {
        using var shipped = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FunctionsMetadata.OutputDirectory, "host.json")));
        var root = shipped.RootElement;

        Assert.Equal("2.0", root.GetProperty("version").GetString());
        // Empty: the function routes carry "api/..." themselves, so the paths are the embedded app's.
        Assert.Equal("", root.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
        Assert.False(root.TryGetProperty("extensionBundle", out _));
        Assert.False(root.TryGetProperty("customHandler", out _));
        Assert.False(root.GetProperty("extensions").TryGetProperty("serviceBus", out _));
        Assert.Equal(File.ReadAllText(Path.Combine(Browser.Pages.RepositoryRoot, "host.json")),
            File.ReadAllText(Path.Combine(FunctionsMetadata.OutputDirectory, "host.json")));
    }

    [Fact]
    public void The_worker_is_built_for_worker_indexing_and_ships_the_pages()
    {
        using var worker = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FunctionsMetadata.OutputDirectory, "worker.config.json")));
        Assert.Equal("true", worker.RootElement.GetProperty("description").GetProperty("workerIndexing").GetString());
        foreach (var page in new[] { "refer.html", "partner.html", "reports.html", "assets/site.css", "assets/refer.js" })
        {
            Assert.True(File.Exists(Path.Combine(FunctionsMetadata.OutputDirectory, "wwwroot", page)), $"wwwroot/{page} is not in the worker's output.");
        }
    }

    [PublishFact]
    public async Task Publishing_the_Functions_project_gives_the_layout_the_host_loads()
    {
        var output = Directory.CreateTempSubdirectory("functions-publish-");
        try
        {
            var project = Path.Combine(Browser.Pages.RepositoryRoot, "functions", "ReferralBroker.Functions", "ReferralBroker.Functions.csproj");
            using var publish = Process.Start(new ProcessStartInfo("dotnet", ["publish", project, "-c", "Release", "-o", output.FullName, "--nologo"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var log = await publish.StandardOutput.ReadToEndAsync() + await publish.StandardError.ReadToEndAsync();
            await publish.WaitForExitAsync();
            Assert.True(publish.ExitCode == 0, log);

            foreach (var file in new[] { "functions.metadata", "host.json", "worker.config.json", "ReferralBroker.Functions.dll", "wwwroot/refer.html" })
            {
                Assert.True(File.Exists(Path.Combine(output.FullName, file)), $"{file} is missing from the publish output.");
            }

            Assert.True(Directory.Exists(Path.Combine(output.FullName, ".azurefunctions")), ".azurefunctions/ is missing from the publish output.");
            Assert.False(File.Exists(Path.Combine(output.FullName, "local.settings.json")), "local settings must never ship.");
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }
}

/// <summary>A Release publish takes a while: skipped unless REFERRALBROKER_FULL_PACKAGE=1 (CI sets it).</summary>
public sealed class PublishFactAttribute : FactAttribute
{
    public PublishFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("REFERRALBROKER_FULL_PACKAGE") != "1")
        {
            Skip = "Set REFERRALBROKER_FULL_PACKAGE=1 to publish the Functions project (CI does).";
        }
    }
}
