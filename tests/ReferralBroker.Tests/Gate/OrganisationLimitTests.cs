using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Tests.Gate;

/// <summary>
/// Each organisation's own token buckets of submissions and flags, counted by the key's organisation after
/// authentication, so one leaked key cannot flood the partners' inboxes or pause partners, from any number of
/// addresses, while every other organisation goes on as before. (The hosting contract runs the flag limit through
/// the worker's gate too.)
/// </summary>
public sealed class OrganisationLimitTests
{
    [Fact]
    public async Task A_burst_of_submissions_beyond_the_limit_is_refused_429_with_Retry_After_stores_nothing_and_holds_back_no_other_organisation()
    {
        // One a minute: the bucket (real time; the limiter takes no TimeProvider) gives its token back a whole minute
        // after the organisation's first request, a window no two requests on a loaded machine come near. With two a
        // minute a token came back after 30 s, and a slow machine could let the "refused" one through.
        using var app = Coordinator.App(new Dictionary<string, string?> { ["Broker:RateLimits:SubmissionsPerMinute"] = "1" });
        var organisation = app.Organisation();
        var window = Stopwatch.StartNew();
        var first = await app.SubmitAsync(BrokerApp.Referral("FIRST"));

        var refused = await organisation.PostAsJsonAsync("/api/referrals", BrokerApp.Referral("REFUSED"));
        Assert.True(refused.StatusCode == HttpStatusCode.TooManyRequests,
            $"Answered {(int)refused.StatusCode} {window.Elapsed.TotalSeconds:F1} s after the first submission.");
        Assert.InRange(int.Parse(refused.Headers.RetryAfter!.ToString(), CultureInfo.InvariantCulture), 1, 60);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("statusToken", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Another organisation's bucket is its own.
        var theirs = await app.SubmitAsync(BrokerApp.Referral("THEIRS"), app.Organisation(BrokerApp.OtherOrgKey));

        // Nothing of the refused one was stored or queued: one referral listed, two emails in all.
        var listed = (await organisation.GetFromJsonAsync<JsonElement>("/api/referrals")).GetProperty("items")
            .EnumerateArray().Select(i => i.GetProperty("referralId").GetString()).ToArray();
        Assert.Equal(first.ReferralId, Assert.Single(listed));
        Assert.Equal(2, await app.DispatchAsync());
        Assert.Equal(new[] { first.ReferralId, theirs.ReferralId }.Order(),
            app.Outbox().Select(BrokerApp.LinkIn).Select(l => l.ReferralId).Order());
    }

    [Fact]
    public async Task A_burst_of_flags_beyond_the_limit_is_refused_429_with_Retry_After_and_the_refused_flag_counts_towards_no_pause()
    {
        using var app = Coordinator.App(new Dictionary<string, string?> { ["Broker:RateLimits:FlagsPerMinute"] = "1" });
        Task<HttpResponseMessage> FlagAsync(string key, string partnerId) =>
            app.Organisation(key).PostAsJsonAsync($"/api/partners/{partnerId}/flags", new { reason = "contacted-police-or-immigration" });

        Assert.Equal(HttpStatusCode.OK, (await FlagAsync(BrokerApp.OrgKey, "demo-health")).StatusCode);
        var refused = await FlagAsync(BrokerApp.OrgKey, "demo-legal");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.InRange(int.Parse(refused.Headers.RetryAfter!.ToString(), CultureInfo.InvariantCulture), 1, 60);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, (await FlagAsync(BrokerApp.OtherOrgKey, "demo-legal")).StatusCode);

        // Two organisations' flags pause a partner; the refused one was never stored, so demo-legal has one.
        var review = await Coordinator.Client(app).GetFromJsonAsync<JsonElement>("/api/admin/partners/demo-legal");
        Assert.Equal(["other-org"], review.GetProperty("flags").EnumerateArray().Select(f => f.GetProperty("organisationId").GetString()));
        var partners = await Coordinator.PartnersAsync(app);
        Assert.False(partners.EnumerateArray().Single(p => p.GetProperty("id").GetString() == "demo-legal").GetProperty("paused").GetBoolean());
    }

    [Theory]
    [InlineData("Broker:RateLimits:SubmissionsPerMinute", "0")]
    [InlineData("Broker:RateLimits:FlagsPerMinute", "-1")]
    public void A_limit_below_one_stops_the_start_naming_it(string setting, string value)
    {
        var failure = Coordinator.StartupFailure(new Dictionary<string, string?> { [setting] = value });
        Assert.Contains(setting.Split(':')[^1], failure.Message, StringComparison.Ordinal);
    }
}
