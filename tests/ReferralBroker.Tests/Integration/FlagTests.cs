using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace ReferralBroker.Tests.Integration;

/// <summary>Organisations flag partners that breached confidentiality; enough of them pause the partner.</summary>
public sealed class FlagTests : IDisposable
{
    private const string ThirdOrgKey = "third-org-key-0123456789";
    private readonly BrokerApp _app = Coordinator.App(new Dictionary<string, string?>
    {
        ["Broker:Organisations:1:Id"] = "third-org",
        ["Broker:Organisations:1:Name"] = "A third organisation",
        ["Broker:Organisations:1:ApiKeySha256"] = Referrals.ApiKeys.Hash(ThirdOrgKey),
    });

    public void Dispose() => _app.Dispose();

    private Task<HttpResponseMessage> FlagAsync(string key, string partnerId = "demo-health", string reason = "contacted-police-or-immigration") =>
        _app.Organisation(key).PostAsJsonAsync($"/api/partners/{partnerId}/flags", new { reason });

    private async Task<HttpStatusCode> SubmitStatusAsync() =>
        (await _app.Organisation().PostAsJsonAsync("/api/referrals", BrokerApp.Referral())).StatusCode;

    [Fact]
    public async Task Flags_from_two_distinct_organisations_pause_the_partner_until_the_coordinator_resumes_it()
    {
        Assert.Equal(HttpStatusCode.OK, (await FlagAsync(BrokerApp.OrgKey)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await FlagAsync(BrokerApp.OrgKey, reason: "demanded-identity-documents")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, await SubmitStatusAsync());

        Assert.Equal(HttpStatusCode.OK, (await FlagAsync(BrokerApp.OtherOrgKey, reason: "shared-client-details-without-consent")).StatusCode);
        var refused = await _app.Organisation().PostAsJsonAsync("/api/referrals", BrokerApp.Referral());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);

        var review = await Coordinator.Client(_app).GetFromJsonAsync<JsonElement>("/api/admin/partners/demo-health");
        Assert.Equal("flags", review.GetProperty("pause").GetProperty("cause").GetString());
        var flags = review.GetProperty("flags").EnumerateArray().Select(f => (f.GetProperty("organisationId").GetString(), f.GetProperty("reason").GetString()));
        Assert.Equal([("demo-org", "demanded-identity-documents"), ("other-org", "shared-client-details-without-consent")], flags);

        await Coordinator.Client(_app).PostAsync("/api/admin/partners/demo-health/resume", null);
        Assert.Equal(HttpStatusCode.Created, await SubmitStatusAsync());
        Assert.Empty((await Coordinator.Client(_app).GetFromJsonAsync<JsonElement>("/api/admin/partners/demo-health")).GetProperty("flags").EnumerateArray());

        // Counting starts again after a review.
        await FlagAsync(ThirdOrgKey);
        Assert.Equal(HttpStatusCode.Created, await SubmitStatusAsync());
    }

    [Fact]
    public async Task The_number_of_organisations_that_pause_a_partner_is_configurable()
    {
        using var strict = Coordinator.App(new Dictionary<string, string?> { ["Broker:Directory:FlagsToPause"] = "1" });
        await strict.Organisation(BrokerApp.OtherOrgKey).PostAsJsonAsync("/api/partners/demo-legal/flags", new { reason = "exposed-client-identity" });
        var partners = await Coordinator.PartnersAsync(strict);
        Assert.True(partners.EnumerateArray().Single(p => p.GetProperty("id").GetString() == "demo-legal").GetProperty("paused").GetBoolean());
        Assert.False(partners.EnumerateArray().Single(p => p.GetProperty("id").GetString() == "demo-health").GetProperty("paused").GetBoolean());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-2")]
    public void A_threshold_below_one_stops_the_broker_from_starting(string threshold)
    {
        var failure = Coordinator.StartupFailure(new Dictionary<string, string?> { ["Broker:Directory:FlagsToPause"] = threshold });
        Assert.Contains("FlagsToPause", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flag_carries_a_reason_from_the_list_and_nothing_else()
    {
        var freeText = await FlagAsync(BrokerApp.OrgKey, reason: "the receptionist called her husband");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, freeText.StatusCode);
        Assert.Equal(["reason"], Coordinator.ErrorKeys(await freeText.Content.ReadFromJsonAsync<JsonElement>()));

        var withDetails = await _app.Organisation().PostAsync("/api/partners/demo-health/flags", new StringContent(
            """{"reason":"other-confidentiality-breach","details":"Mai, 24, Signal +66"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, withDetails.StatusCode);
        Assert.Equal(["details"], Coordinator.ErrorKeys(await withDetails.Content.ReadFromJsonAsync<JsonElement>()));

        var review = await Coordinator.Client(_app).GetFromJsonAsync<JsonElement>("/api/admin/partners/demo-health");
        Assert.Empty(review.GetProperty("flags").EnumerateArray());
        Assert.DoesNotContain(_app.Logs, line => line.Contains("Signal +66", StringComparison.Ordinal) || line.Contains("receptionist", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Only_organisations_flag_and_only_partners_that_exist()
    {
        var anonymous = await _app.CreateClient().PostAsJsonAsync("/api/partners/demo-health/flags", new { reason = "exposed-client-identity" });
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

        var coordinator = await Coordinator.Client(_app).PostAsJsonAsync("/api/partners/demo-health/flags", new { reason = "exposed-client-identity" });
        Assert.Equal(HttpStatusCode.Unauthorized, coordinator.StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await FlagAsync(BrokerApp.OrgKey, partnerId: "nobody")).StatusCode);
    }

    [Fact]
    public async Task An_organisation_cannot_read_flags_or_the_review()
    {
        await FlagAsync(BrokerApp.OrgKey);
        var response = await _app.Organisation(BrokerApp.OtherOrgKey).GetAsync("/api/admin/partners/demo-health");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var publicEntry = (await Coordinator.PartnersAsync(_app)).EnumerateArray().Single(p => p.GetProperty("id").GetString() == "demo-health");
        Assert.False(publicEntry.TryGetProperty("flags", out _));
    }
}
