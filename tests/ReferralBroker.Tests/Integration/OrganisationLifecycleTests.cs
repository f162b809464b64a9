using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ReferralBroker.Tests.Integration;

/// <summary>
/// The demo network's place (Development, or switched on) and the organisation's life under the coordinator:
/// keys rotated or revoked stay so across restarts, a deactivated organisation's key opens nothing.
/// </summary>
public sealed class OrganisationLifecycleTests : IDisposable
{
    private const string Environment = "environment";
    private readonly BrokerApp _app = Coordinator.App();

    public void Dispose() => _app.Dispose();

    private static async Task<string[]> OrganisationIdsAsync(BrokerApp app) =>
        [.. (await Coordinator.Client(app).GetFromJsonAsync<JsonElement>("/api/admin/organisations"))
            .EnumerateArray().Select(o => o.GetProperty("id").GetString()!)];

    private static async Task<JsonElement> OrganisationAsync(BrokerApp app, string id) =>
        (await Coordinator.Client(app).GetFromJsonAsync<JsonElement>("/api/admin/organisations"))
            .EnumerateArray().Single(o => o.GetProperty("id").GetString() == id);

    [Fact]
    public async Task The_test_host_is_Development_and_gets_the_demo_network()
    {
        Assert.True(_app.Services.GetRequiredService<IHostEnvironment>().IsDevelopment());
        Assert.Contains("demo-org", await OrganisationIdsAsync(_app));
        Assert.Contains("demo-health", Coordinator.Ids(await Coordinator.PartnersAsync(_app)));
    }

    [Fact]
    public async Task Production_without_the_switch_seeds_no_demo_organisation_or_partner_and_says_so()
    {
        using var production = Coordinator.App(new Dictionary<string, string?> { [Environment] = "Production" });
        Assert.False(production.Services.GetRequiredService<IHostEnvironment>().IsDevelopment());

        Assert.Equal(["other-org"], await OrganisationIdsAsync(production));
        Assert.Empty((await Coordinator.PartnersAsync(production)).EnumerateArray());
        Assert.Equal(HttpStatusCode.Unauthorized, (await production.Organisation().PostAsJsonAsync("/api/referrals", BrokerApp.Referral())).StatusCode);
        Assert.Contains(production.Logs, line => line.Contains("No demo network", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Production_with_Broker_Demo_Enabled_seeds_the_demo_network()
    {
        using var production = Coordinator.App(new Dictionary<string, string?> { [Environment] = "Production", ["Broker:Demo:Enabled"] = "true" });
        Assert.Contains("demo-org", await OrganisationIdsAsync(production));
        Assert.Equal(["demo-employment", "demo-health", "demo-legal"], Coordinator.Ids(await Coordinator.PartnersAsync(production)).Order());
        await production.SubmitAsync();
    }

    [Fact]
    public async Task A_production_start_on_a_folder_that_holds_the_demo_warns_until_it_is_deactivated()
    {
        await _app.SubmitAsync();
        _app.Dispose();
        using (var production = Coordinator.App(new Dictionary<string, string?> { [Environment] = "Production" }, dataPath: _app.DataPath))
        {
            production.CreateClient();
            Assert.Contains(production.Logs, line => line.Contains("holds the demo organisation", StringComparison.Ordinal));
            Assert.Equal(HttpStatusCode.OK, (await Coordinator.Client(production).PostAsync("/api/admin/organisations/demo-org/deactivate", null)).StatusCode);
        }

        using var again = Coordinator.App(new Dictionary<string, string?> { [Environment] = "Production" }, dataPath: _app.DataPath);
        again.CreateClient();
        Assert.DoesNotContain(again.Logs, line => line.Contains("holds the demo organisation", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Development_with_the_switch_off_seeds_no_demo()
    {
        using var app = Coordinator.App(new Dictionary<string, string?> { ["Broker:Demo:Enabled"] = "false" });
        Assert.DoesNotContain("demo-org", await OrganisationIdsAsync(app));
        Assert.Empty((await Coordinator.PartnersAsync(app)).EnumerateArray());
    }

    [Fact]
    public async Task A_rotated_demo_key_stays_rotated_across_a_restart()
    {
        var rotated = await Coordinator.IssueKeyAsync(_app, "demo-org");
        _app.Dispose();

        using var restarted = Coordinator.App(dataPath: _app.DataPath);
        Assert.Equal(HttpStatusCode.Unauthorized, (await restarted.Organisation().PostAsJsonAsync("/api/referrals", BrokerApp.Referral())).StatusCode);
        await restarted.SubmitAsync(organisation: restarted.Organisation(rotated));
        Assert.Contains(restarted.Logs, line => line.Contains("kept from an earlier start", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_generated_demo_key_is_printed_only_by_the_start_that_puts_it_in_force()
    {
        // Other tests' brokers write to the console at the same time: read the capture under the writer's own lock.
        var output = new StringWriter();
        var console = TextWriter.Synchronized(output);
        string Printed()
        {
            lock (console)
            {
                return output.ToString();
            }
        }

        var original = Console.Out;
        Console.SetOut(console);
        try
        {
            // No configured key: the first start generates one, the second keeps it and prints none.
            using var first = Coordinator.App(new Dictionary<string, string?> { ["Broker:Demo:OrgApiKey"] = "" });
            first.CreateClient();
            var printed = System.Text.RegularExpressions.Regex.Match(Printed(), "API key: (demo_[0-9a-f]{40})");
            Assert.True(printed.Success, Printed());
            var key = printed.Groups[1].Value;
            await first.SubmitAsync(organisation: first.Organisation(key));
            var seen = System.Text.RegularExpressions.Regex.Count(Printed(), "API key: demo_");

            using var second = Coordinator.App(new Dictionary<string, string?> { ["Broker:Demo:OrgApiKey"] = "" }, dataPath: first.DataPath);
            second.CreateClient();
            Assert.Equal(seen, System.Text.RegularExpressions.Regex.Count(Printed(), "API key: demo_"));
            Assert.Contains(second.Logs, line => line.Contains("kept from an earlier start", StringComparison.Ordinal));
            await second.SubmitAsync(organisation: second.Organisation(key));
        }
        finally
        {
            Console.SetOut(original);
        }
    }

    [Fact]
    public async Task A_revoked_key_opens_nothing_even_after_a_restart_and_no_other_is_issued()
    {
        var submitted = await _app.SubmitAsync();
        var revoked = await Coordinator.Client(_app).DeleteAsync("/api/admin/organisations/demo-org/key");
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        var view = await revoked.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(view.GetProperty("hasApiKey").GetBoolean());
        Assert.False(view.TryGetProperty("apiKey", out _));
        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.Organisation().GetAsync($"/api/referrals/{submitted.ReferralId}")).StatusCode);

        // Revoking again changes nothing and is no error.
        Assert.Equal(HttpStatusCode.OK, (await Coordinator.Client(_app).DeleteAsync("/api/admin/organisations/demo-org/key")).StatusCode);
        _app.Dispose();

        using var restarted = Coordinator.App(dataPath: _app.DataPath);
        Assert.Equal(HttpStatusCode.Unauthorized, (await restarted.Organisation().GetAsync($"/api/referrals/{submitted.ReferralId}")).StatusCode);
        Assert.False((await OrganisationAsync(restarted, "demo-org")).GetProperty("hasApiKey").GetBoolean());
        var fresh = await Coordinator.IssueKeyAsync(restarted, "demo-org");
        Assert.Equal(HttpStatusCode.OK, (await restarted.Organisation(fresh).GetAsync($"/api/referrals/{submitted.ReferralId}")).StatusCode);
    }

    [Fact]
    public async Task A_deactivated_organisation_is_refused_everywhere_its_referrals_go_on_and_it_stays_in_reports()
    {
        var submitted = new List<Submitted>();
        for (var i = 0; i < 5; i++)
        {
            submitted.Add(await _app.SubmitAsync());
        }

        await _app.DispatchAsync();
        var link = _app.LinkFor(submitted[0].ReferralId);

        var deactivated = await Coordinator.Client(_app).PostAsync("/api/admin/organisations/demo-org/deactivate", null);
        Assert.Equal(HttpStatusCode.OK, deactivated.StatusCode);
        var view = await deactivated.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(view.GetProperty("active").GetBoolean());
        Assert.True(view.GetProperty("hasApiKey").GetBoolean());

        var organisation = _app.Organisation();
        HttpResponseMessage[] refused =
        [
            await organisation.PostAsJsonAsync("/api/referrals", BrokerApp.Referral()),
            await organisation.GetAsync("/api/referrals"),
            await organisation.GetAsync($"/api/referrals/{submitted[0].ReferralId}"),
            await organisation.GetAsync("/api/reports/summary"),
            await organisation.PostAsJsonAsync("/api/partners/demo-health/flags", new { reason = "demanded-identity-documents" }),
        ];
        Assert.All(refused, r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));
        Assert.All(refused, r => Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType));

        // Its referrals still count in the network's figures another organisation sees (five: not suppressed).
        var report = await _app.Organisation(BrokerApp.OtherOrgKey).GetFromJsonAsync<JsonElement>("/api/reports/summary?from=2026-11-01&to=2026-11-30");
        Assert.Equal(5, report.GetProperty("network").GetProperty("total").GetProperty("count").GetInt32());
        Assert.Contains("demo-org", await OrganisationIdsAsync(_app));

        // The partner and the client carry on with the referrals it made.
        Assert.Equal(HttpStatusCode.OK, (await _app.Partner(link).PostAsync($"/api/partner/referrals/{link.ReferralId}/accept", null)).StatusCode);
        Assert.Equal("accepted", (await _app.StatusAsync(submitted[0].StatusToken)).GetProperty("status").GetString());

        // No key can be issued while it is deactivated; reactivated, its old key works again, across a restart too.
        Assert.Equal(HttpStatusCode.Conflict, (await Coordinator.Client(_app).PostAsync("/api/admin/organisations/demo-org/key", null)).StatusCode);
        _app.Dispose();
        using var restarted = Coordinator.App(dataPath: _app.DataPath);
        Assert.Equal(HttpStatusCode.Unauthorized, (await restarted.Organisation().GetAsync("/api/referrals")).StatusCode);
        var activated = await Coordinator.Client(restarted).PostAsync("/api/admin/organisations/demo-org/activate", null);
        Assert.True((await activated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("active").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await restarted.Organisation().GetAsync($"/api/referrals/{submitted[0].ReferralId}")).StatusCode);
    }

    [Fact]
    public async Task Deactivating_twice_keeps_the_first_date_and_a_saved_name_keeps_it_deactivated()
    {
        var first = await (await Coordinator.Client(_app).PostAsync("/api/admin/organisations/demo-org/deactivate", null)).Content.ReadFromJsonAsync<JsonElement>();
        _app.Time.Advance(TimeSpan.FromHours(1));
        var second = await (await Coordinator.Client(_app).PostAsync("/api/admin/organisations/demo-org/deactivate", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(first.GetProperty("deactivatedAt").GetString(), second.GetProperty("deactivatedAt").GetString());

        Assert.Equal(HttpStatusCode.OK, (await Coordinator.Client(_app).PutAsJsonAsync("/api/admin/organisations/demo-org", new { name = "Renamed" })).StatusCode);
        Assert.False((await OrganisationAsync(_app, "demo-org")).GetProperty("active").GetBoolean());
        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.Organisation().GetAsync("/api/referrals")).StatusCode);
    }

    [Theory]
    [InlineData("DELETE", "/api/admin/organisations/nobody/key")]
    [InlineData("POST", "/api/admin/organisations/nobody/deactivate")]
    [InlineData("POST", "/api/admin/organisations/nobody/activate")]
    [InlineData("POST", "/api/admin/organisations/nobody/key")]
    public async Task An_unknown_organisation_is_a_404_problem(string method, string path)
    {
        var response = await Coordinator.Client(_app).SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
