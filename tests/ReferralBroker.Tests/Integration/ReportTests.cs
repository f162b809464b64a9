using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace ReferralBroker.Tests.Integration;

public sealed class ReportTests : IDisposable
{
    private readonly BrokerApp _app = new();

    public void Dispose() => _app.Dispose();

    private static string Count(JsonElement scope, string month, string category, string outcome) =>
        scope.GetProperty("months").EnumerateArray().Single(m => m.GetProperty("month").GetString() == month)
            .GetProperty("cells").EnumerateArray()
            .Single(c => c.GetProperty("category").GetString() == category && c.GetProperty("outcome").GetString() == outcome)
            .GetProperty("count").ToString();

    private async Task<JsonElement> SummaryAsync(string query = "?from=2026-11-01&to=2026-11-30")
    {
        var response = await _app.Organisation().GetAsync($"/api/reports/summary{query}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<List<Submitted>> SubmitAsync(int count, string key = BrokerApp.OrgKey, string partnerId = "demo-health", string category = "health")
    {
        var submitted = new List<Submitted>();
        for (var i = 0; i < count; i++)
        {
            submitted.Add(await _app.SubmitAsync(BrokerApp.Referral(partnerId: partnerId, category: category), _app.Organisation(key)));
        }

        return submitted;
    }

    [Fact]
    public async Task The_summary_shows_the_organisation_and_the_network_with_small_counts_suppressed()
    {
        await SubmitAsync(5);
        await SubmitAsync(1, partnerId: "demo-legal", category: "legal");
        await SubmitAsync(5, BrokerApp.OtherOrgKey);

        var report = await SummaryAsync();
        Assert.Equal("2026-11", report.GetProperty("from").GetString());
        Assert.Equal("2026-11", report.GetProperty("to").GetString());
        var organisation = report.GetProperty("organisation");
        Assert.Equal("5", Count(organisation, "2026-11", "health", "pending"));
        Assert.Equal("<5", Count(organisation, "2026-11", "legal", "pending"));
        Assert.Equal("10", Count(report.GetProperty("network"), "2026-11", "health", "pending"));
        // The legal referral is in no total: totals add up published cells only.
        Assert.Equal(5, organisation.GetProperty("total").GetProperty("count").GetInt32());
        Assert.Equal(JsonValueKind.Null, organisation.GetProperty("acceptanceRate").ValueKind);
    }

    [Fact]
    public async Task The_summary_comes_as_csv_on_request_or_by_content_negotiation()
    {
        await SubmitAsync(6);
        var byParameter = await _app.Organisation().GetAsync("/api/reports/summary?from=2026-11-01&to=2026-11-01&format=csv");
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/reports/summary?from=2026-11-01&to=2026-11-01");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        var negotiated = await _app.Organisation().SendAsync(request);

        foreach (var response in new[] { byParameter, negotiated })
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
            var lines = (await response.Content.ReadAsStringAsync()).Split("\r\n");
            Assert.Equal("scope,period,category,outcome,measure,value", lines[0]);
            Assert.Contains("organisation,2026-11,health,pending,count,6", lines);
            Assert.Contains("organisation,2026-11,legal,pending,count,<5", lines);
            Assert.Contains("network,2026-11..2026-11,all,all,count,6", lines);
        }
    }

    [Fact]
    public async Task Purged_referrals_still_count_in_reports_through_counters_that_hold_no_referral()
    {
        var submitted = await SubmitAsync(5);
        foreach (var referral in submitted)
        {
            Assert.Equal(HttpStatusCode.OK, (await _app.CreateClient().PostAsJsonAsync("/api/status/withdraw", new { token = referral.StatusToken })).StatusCode);
        }

        var before = await SummaryAsync();
        _app.Time.Advance(TimeSpan.FromDays(31));
        var swept = await _app.SweepAsync();
        Assert.Equal(5, swept.Purged);
        Assert.Equal(HttpStatusCode.NotFound, (await _app.Organisation().GetAsync($"/api/referrals/{submitted[0].ReferralId}")).StatusCode);

        var after = await SummaryAsync();
        Assert.Equal("5", Count(after.GetProperty("organisation"), "2026-11", "health", "withdrawn"));
        Assert.Equal(before.GetProperty("organisation").GetRawText(), after.GetProperty("organisation").GetRawText());

        var file = await _app.DatabaseBytesAsync();
        foreach (var referral in submitted)
        {
            Assert.Equal(-1, file.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(referral.ReferralId)));
        }
    }

    [Theory]
    [InlineData("?from=2026-11-01&to=2026-10-01", "to")]
    [InlineData("?from=2020-01-01&to=2026-11-01", "to")]
    [InlineData("?from=yesterday", "from")]
    [InlineData("?format=xml", "format")]
    [InlineData("?organisation=other-org", "organisation")]
    public async Task A_malformed_report_request_is_refused(string query, string parameter)
    {
        var response = await _app.Organisation().GetAsync($"/api/reports/summary{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty(parameter, out _));
    }

    [Fact]
    public async Task Reports_need_an_organisation_key_and_the_page_needs_none()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.CreateClient().GetAsync("/api/reports/summary")).StatusCode);
        var page = await _app.CreateClient().GetAsync("/reports");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("/assets/reports.js", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
