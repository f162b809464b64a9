using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ReferralBroker.Tests.Integration;

public sealed class ReferralListTests : IDisposable
{
    private readonly BrokerApp _app = new();

    public void Dispose() => _app.Dispose();

    private async Task<JsonElement> ListAsync(string query = "", string key = BrokerApp.OrgKey)
    {
        var response = await _app.Organisation(key).GetAsync($"/api/referrals{query}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static string[] Ids(JsonElement page) =>
        [.. page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("referralId").GetString()!)];

    /// <summary>Seven referrals an hour apart, oldest first: health, legal, health, legal...</summary>
    private async Task<List<string>> SubmitSevenAsync()
    {
        var ids = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            var body = i % 2 == 0 ? BrokerApp.Referral() : BrokerApp.Referral(partnerId: "demo-legal", category: "legal");
            ids.Add((await _app.SubmitAsync(body)).ReferralId);
            _app.Time.Advance(TimeSpan.FromHours(1));
        }

        return ids;
    }

    [Fact]
    public async Task An_organisation_pages_through_its_own_referrals_newest_first_and_never_sees_another_organisations()
    {
        var ours = await SubmitSevenAsync();
        var theirs = await _app.SubmitAsync(organisation: _app.Organisation(BrokerApp.OtherOrgKey));

        var seen = new List<string>();
        var pages = 0;
        string? continuation = null;
        do
        {
            var page = await ListAsync($"?limit=3{(continuation is null ? "" : $"&continuation={continuation}")}");
            Assert.True(page.GetProperty("items").GetArrayLength() <= 3);
            seen.AddRange(Ids(page));
            continuation = page.TryGetProperty("continuation", out var next) ? next.GetString() : null;
            pages++;
        }
        while (continuation is not null);

        Assert.Equal(Enumerable.Reverse(ours), seen);
        Assert.Equal(3, pages);
        Assert.DoesNotContain(theirs.ReferralId, seen);
        Assert.Equal([theirs.ReferralId], Ids(await ListAsync(key: BrokerApp.OtherOrgKey)));
    }

    [Fact]
    public async Task A_continuation_cannot_reach_into_another_organisations_list()
    {
        var ours = await _app.SubmitAsync();
        var page = await ListAsync("?limit=1", BrokerApp.OtherOrgKey);
        Assert.Empty(Ids(page));
        // A cursor positioned by our referral, replayed by the other organisation, still lists only theirs.
        _app.Time.Advance(TimeSpan.FromHours(1));
        await _app.SubmitAsync();
        var first = await ListAsync("?limit=1");
        var continuation = first.GetProperty("continuation").GetString();
        Assert.Empty(Ids(await ListAsync($"?continuation={continuation}", BrokerApp.OtherOrgKey)));
        Assert.Equal([ours.ReferralId], Ids(await ListAsync($"?continuation={continuation}")));
    }

    [Fact]
    public async Task The_list_filters_by_status_category_and_creation_date()
    {
        var ids = await SubmitSevenAsync();
        await _app.DispatchAsync();
        var link = _app.LinkFor(ids[2]);
        Assert.Equal(HttpStatusCode.OK, (await _app.Partner(link).PostAsync($"/api/partner/referrals/{link.ReferralId}/accept", null)).StatusCode);

        Assert.Equal([ids[2]], Ids(await ListAsync("?status=accepted")));
        Assert.Equal([ids[6], ids[4], ids[0]], Ids(await ListAsync("?category=health&status=delivered")));
        Assert.Equal([ids[5], ids[3], ids[1]], Ids(await ListAsync("?category=legal")));
        // Created at 12:00, 13:00, ... 18:00 on 23 November: `from` inclusive, a date-time `to` exclusive.
        Assert.Equal([ids[3], ids[2]], Ids(await ListAsync("?from=2026-11-23T14:00:00Z&to=2026-11-23T16:00:00Z")));
        // A date as `to` includes that whole day.
        Assert.Equal(7, Ids(await ListAsync("?from=2026-11-23&to=2026-11-23")).Length);
        Assert.Empty(Ids(await ListAsync("?from=2026-11-24")));

        var view = (await ListAsync("?status=accepted")).GetProperty("items")[0];
        Assert.Equal(BrokerApp.Start.AddHours(2), view.GetProperty("createdAt").GetDateTimeOffset());
        Assert.Equal(["submitted", "delivered", "accepted"], view.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("status").GetString()));
    }

    [Theory]
    [InlineData("?status=lost", "status")]
    [InlineData("?category=Housing%20aid", "category")]
    [InlineData("?from=23/11/2026", "from")]
    [InlineData("?to=2026-11-23T12:00:00", "to")]
    [InlineData("?limit=0", "limit")]
    [InlineData("?limit=201", "limit")]
    [InlineData("?continuation=not-ours", "continuation")]
    [InlineData("?organisation=other-org", "organisation")]
    [InlineData("?status=accepted&status=declined", "status")]
    public async Task A_malformed_query_is_refused_with_the_parameter_named(string query, string parameter)
    {
        var response = await _app.Organisation().GetAsync($"/api/referrals{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(parameter, out _));
    }

    [Fact]
    public async Task The_list_needs_an_organisation_key()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.CreateClient().GetAsync("/api/referrals")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.Organisation("wrong-key").GetAsync("/api/referrals")).StatusCode);
    }
}
