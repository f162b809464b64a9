using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace ReferralBroker.Tests.Integration;

/// <summary>The coordinator's review of the network: every flag in one list, and removing a partner once paused.</summary>
public sealed class PartnerReviewTests : IDisposable
{
    private readonly BrokerApp _app = Coordinator.App(new Dictionary<string, string?> { ["Broker:Directory:FlagsToPause"] = "5" });

    public void Dispose() => _app.Dispose();

    private async Task FlagAsync(string key, string partnerId, string reason)
    {
        var response = await _app.Organisation(key).PostAsJsonAsync($"/api/partners/{partnerId}/flags", new { reason });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<JsonElement[]> FlagsAsync() =>
        [.. (await Coordinator.Client(_app).GetFromJsonAsync<JsonElement>("/api/admin/flags")).EnumerateArray()];

    private Task<HttpResponseMessage> RemoveAsync(string partnerId) => Coordinator.Client(_app).DeleteAsync($"/api/admin/partners/{partnerId}");

    [Fact]
    public async Task Every_flag_in_the_network_is_listed_newest_first_with_the_names_of_partner_and_organisation()
    {
        Assert.Empty(await FlagsAsync());

        await FlagAsync(BrokerApp.OrgKey, "demo-health", "exposed-client-identity");
        _app.Time.Advance(TimeSpan.FromMinutes(5));
        await FlagAsync(BrokerApp.OtherOrgKey, "demo-legal", "demanded-identity-documents");
        _app.Time.Advance(TimeSpan.FromMinutes(5));
        await FlagAsync(BrokerApp.OtherOrgKey, "demo-health", "contacted-police-or-immigration");

        var flags = await FlagsAsync();
        Assert.Equal(
            [
                ("demo-health", "other-org", "Another organisation", "contacted-police-or-immigration", BrokerApp.Start.AddMinutes(10)),
                ("demo-legal", "other-org", "Another organisation", "demanded-identity-documents", BrokerApp.Start.AddMinutes(5)),
                ("demo-health", "demo-org", DemoOrganisationName(), "exposed-client-identity", BrokerApp.Start),
            ],
            flags.Select(f => (f.GetProperty("partnerId").GetString(), f.GetProperty("organisationId").GetString(),
                f.GetProperty("organisationName").GetString(), f.GetProperty("reason").GetString(), f.GetProperty("flaggedAt").GetDateTimeOffset())));
        var names = (await Coordinator.Client(_app).GetFromJsonAsync<JsonElement>("/api/admin/partners")).EnumerateArray()
            .ToDictionary(p => p.GetProperty("id").GetString()!, p => p.GetProperty("service").GetProperty("name").GetString());
        Assert.All(flags, f => Assert.Equal(names[f.GetProperty("partnerId").GetString()!], f.GetProperty("partnerName").GetString()));
        Assert.Equal(
            ["flaggedAt", "organisationId", "organisationName", "partnerId", "partnerName", "reason"],
            flags[0].EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));

        // A review clears that partner's flags only.
        await Coordinator.Client(_app).PostAsync("/api/admin/partners/demo-health/resume", null);
        Assert.Equal(["demo-legal"], (await FlagsAsync()).Select(f => f.GetProperty("partnerId").GetString()));
    }

    [Fact]
    public async Task An_active_partner_is_not_removed_until_paused_and_a_paused_one_goes_with_its_flags()
    {
        await FlagAsync(BrokerApp.OrgKey, "demo-legal", "exposed-client-identity");
        await FlagAsync(BrokerApp.OrgKey, "demo-health", "exposed-client-identity");

        var refused = await RemoveAsync("demo-legal");
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Contains("pause it first", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("demo-legal", Coordinator.Ids(await Coordinator.PartnersAsync(_app)));

        Assert.Equal(HttpStatusCode.OK, (await Coordinator.Client(_app).PostAsync("/api/admin/partners/demo-legal/pause", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await RemoveAsync("demo-legal")).StatusCode);

        Assert.DoesNotContain("demo-legal", Coordinator.Ids(await Coordinator.PartnersAsync(_app)));
        Assert.Equal(HttpStatusCode.NotFound, (await Coordinator.Client(_app).GetAsync("/api/admin/partners/demo-legal")).StatusCode);
        Assert.Equal(["demo-health"], (await FlagsAsync()).Select(f => f.GetProperty("partnerId").GetString()));
        Assert.DoesNotContain("demo-legal", await Coordinator.Client(_app).GetStringAsync("/api/admin/directory.csv"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await _app.Organisation().PostAsJsonAsync("/api/partners/demo-legal/flags", new { reason = "exposed-client-identity" })).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await _app.Organisation().PostAsJsonAsync("/api/referrals", BrokerApp.Referral(partnerId: "demo-legal", category: "legal"))).StatusCode);

        // Gone means gone: a second removal, like any unknown partner's, is 404.
        Assert.Equal(HttpStatusCode.NotFound, (await RemoveAsync("demo-legal")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await RemoveAsync("nobody")).StatusCode);
    }

    [Fact]
    public async Task Referrals_already_sent_to_a_removed_partner_keep_working_for_the_partner_and_the_client()
    {
        var (referral, link) = await _app.SubmitAndDispatchAsync();
        await Coordinator.Client(_app).PostAsync("/api/admin/partners/demo-health/pause", null);
        Assert.Equal(HttpStatusCode.NoContent, (await RemoveAsync("demo-health")).StatusCode);

        var partner = _app.Partner(link);
        var read = await partner.GetAsync($"/api/partner/referrals/{link.ReferralId}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await partner.PostAsJsonAsync($"/api/partner/referrals/{link.ReferralId}/accept", new { })).StatusCode);
        Assert.Equal("accepted", (await _app.StatusAsync(referral.StatusToken)).GetProperty("status").GetString());
        Assert.Equal("accepted", await _app.OrganisationStatusAsync(referral.ReferralId));
    }

    [Fact]
    public async Task A_removal_survives_a_restart_and_configuration_does_not_bring_the_partner_back()
    {
        var data = Directory.CreateTempSubdirectory("broker-removal-").FullName;
        using (var first = Coordinator.App(dataPath: data))
        {
            await Coordinator.Client(first).PostAsync("/api/admin/partners/demo-legal/pause", null);
            Assert.Equal(HttpStatusCode.NoContent, (await Coordinator.Client(first).DeleteAsync("/api/admin/partners/demo-legal")).StatusCode);
        }

        using var second = Coordinator.App(dataPath: data);
        Assert.DoesNotContain("demo-legal", Coordinator.Ids(await Coordinator.PartnersAsync(second)));
    }

    private string DemoOrganisationName() =>
        _app.Services.GetRequiredService<Referrals.StoredNetworkDirectory>().FindOrganisation("demo-org")!.Name;
}
