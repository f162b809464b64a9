using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Tests.Reliability;

/// <summary>
/// The edges every answer crosses: security headers on all of them, whatever the path (errors, throttling, a
/// crash, a static file); bodies bounded; no internals; and organisations walled off from each other.
/// </summary>
public sealed class BoundaryTests
{
    private const string InternalDetail = "connection string Server=secret-db;Password=hunter2";

    private static readonly string[] SecurityHeaders =
        ["Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "Cache-Control", "X-Frame-Options", "Permissions-Policy"];

    [Fact]
    public async Task Every_kind_of_answer_carries_the_security_headers_and_no_internal_details()
    {
        using var app = new BrokerApp(settings: new Dictionary<string, string?> { ["Broker:RateLimits:StatusPerMinute"] = "3" },
            services: services => services.AddSingleton<IReferralStore>(sp => new BrokenStore()));
        var client = app.CreateClient();
        var token = new { token = "0000-0000-0000-0000" };
        var answers = new Dictionary<string, HttpResponseMessage>
        {
            ["200 page"] = await client.GetAsync("/status"),
            ["200 static file"] = await client.GetAsync("/assets/partner.js"),
            ["200 api"] = await client.GetAsync("/api/partners"),
            ["404 unknown path"] = await client.GetAsync("/nowhere"),
            ["404 unknown static"] = await client.GetAsync("/assets/missing.js"),
            ["405 wrong method"] = await client.DeleteAsync("/api/partners"),
            ["401 no key"] = await client.PostAsJsonAsync("/api/referrals", BrokerApp.Referral()),
            ["400 malformed"] = await client.PostAsync("/api/status", new StringContent("{", Encoding.UTF8, "application/json")),
            ["413 too large"] = await client.PostAsync("/api/status", new StringContent(new string(' ', 17 * 1024), Encoding.UTF8, "application/json")),
            ["500 store down"] = await client.PostAsJsonAsync("/api/status", token),
        };
        answers["429 throttled"] = await client.PostAsJsonAsync("/api/status", token);
        answers["500 organisation route"] = await app.Organisation().GetAsync("/api/referrals/ref_0");

        foreach (var (name, response) in answers)
        {
            Assert.True(name.StartsWith(((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal),
                $"{name}: got {(int)response.StatusCode}");
            foreach (var header in SecurityHeaders)
            {
                Assert.True(response.Headers.Contains(header), $"{name}: no {header}");
            }

            var body = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain(InternalDetail, body, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
            Assert.DoesNotContain(nameof(BrokenStore), body, StringComparison.Ordinal);
            if ((int)response.StatusCode >= 400)
            {
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }
        }
    }

    [Theory]
    [InlineData("/api/referrals")]
    [InlineData("/api/status")]
    [InlineData("/api/status/withdraw")]
    [InlineData("/api/partner/referrals/ref_0/decline")]
    [InlineData("/api/partner/referrals/ref_0/progress")]
    public async Task Every_body_is_bounded_to_16_KiB(string path)
    {
        using var app = new BrokerApp();
        var client = path == "/api/referrals" ? app.Organisation() : app.CreateClient();
        var json = $$"""{"token":"{{new string('A', 17 * 1024)}}"}""";
        var response = await client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        // Streamed without a length, the body is cut off at the limit all the same.
        var streamed = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        streamed.Headers.ContentType = new("application/json");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await client.PostAsync(path, streamed)).StatusCode);
    }

    [Fact]
    public async Task No_organisation_can_read_or_act_on_another_organisations_referral_on_any_route()
    {
        using var app = new BrokerApp();
        var ours = await app.SubmitAsync();
        var theirs = app.Organisation(BrokerApp.OtherOrgKey);

        // Every route behind the organisation policy, from the app's own route table: a new one fails this test
        // until it is listed here with how it is kept apart.
        var routes = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<ReferralBroker.Gate.GateAttribute>()?.Access == ReferralBroker.Gate.Access.Organisation)
            .Select(e => $"{e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Single()} {e.RoutePattern.RawText}")
            .Order().ToArray();
        Assert.Equal(
            ["GET /api/referrals/", "GET /api/referrals/{referralId}", "GET /api/reports/summary", "POST /api/partners/{partnerId}/flags", "POST /api/referrals/",
             "POST /api/referrals/{referralId}/resend"],
            routes);

        // Listing: another organisation's list never holds our referral.
        static async Task<string?[]> ListedAsync(HttpClient organisation) =>
            [.. (await organisation.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/referrals")).GetProperty("items")
                .EnumerateArray().Select(i => i.GetProperty("referralId").GetString())];
        Assert.Contains(ours.ReferralId, await ListedAsync(app.Organisation()));
        Assert.DoesNotContain(ours.ReferralId, await ListedAsync(theirs));

        // Reports: the organisation's part counts its own referrals only (five of ours are a published cell; none of
        // theirs is). Flags name a partner, never a referral, and count each organisation once (FlagTests).
        for (var i = 0; i < 4; i++)
        {
            await app.SubmitAsync();
        }

        static async Task<string> HealthPendingAsync(HttpClient organisation)
        {
            var month = $"{BrokerApp.Start.UtcDateTime:yyyy-MM}";
            var report = await organisation.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/reports/summary?from={month}-01&to={month}-28");
            return report.GetProperty("organisation").GetProperty("months")[0].GetProperty("cells").EnumerateArray()
                .Single(c => c.GetProperty("category").GetString() == "health" && c.GetProperty("outcome").GetString() == "pending")
                .GetProperty("count").ToString();
        }

        Assert.Equal("5", await HealthPendingAsync(app.Organisation()));
        Assert.Equal("<5", await HealthPendingAsync(theirs));

        // Reading: another organisation's referral is exactly as unknown as one that never existed.
        var foreign = await theirs.GetAsync($"/api/referrals/{ours.ReferralId}");
        var unknown = await theirs.GetAsync("/api/referrals/ref_000000000000000000000000");
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        Assert.Equal(Without("traceId", await unknown.Content.ReadAsStringAsync()), Without("traceId", await foreign.Content.ReadAsStringAsync()));

        // Sending again: another organisation's referral is as unknown as one that never existed, and stays as it was.
        var again = new { consent = new { obtainedBy = "verbal", sharedFields = new[] { "needs" } }, client = new { needs = "x" } };
        var foreignResend = await theirs.PostAsJsonAsync($"/api/referrals/{ours.ReferralId}/resend", again);
        var unknownResend = await theirs.PostAsJsonAsync("/api/referrals/ref_000000000000000000000000/resend", again);
        Assert.Equal(HttpStatusCode.NotFound, foreignResend.StatusCode);
        Assert.Equal(Without("traceId", await unknownResend.Content.ReadAsStringAsync()), Without("traceId", await foreignResend.Content.ReadAsStringAsync()));
        Assert.Equal("submitted", await app.OrganisationStatusAsync(ours.ReferralId));

        // Submitting: the same Idempotency-Key and body from the other organisation make their own referral, and
        // never answer with ours or its token.
        var body = BrokerApp.Referral("iso");
        var mine = await SendWithKeyAsync(app.Organisation(), body);
        var other = await SendWithKeyAsync(theirs, body);
        Assert.NotEqual(mine.ReferralId, other.ReferralId);
        Assert.NotEqual(mine.StatusToken, other.StatusToken);
        Assert.Equal(HttpStatusCode.NotFound, (await app.Organisation().GetAsync($"/api/referrals/{other.ReferralId}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await app.Organisation().GetAsync($"/api/referrals/{mine.ReferralId}")).StatusCode);
    }

    private static async Task<Submitted> SendWithKeyAsync(HttpClient organisation, System.Text.Json.JsonElement body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals") { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", "shared-between-organisations");
        var response = await organisation.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<Submitted>())!;
    }

    private static string Without(string property, string json) =>
        System.Text.RegularExpressions.Regex.Replace(json, $"\"{property}\":\"[^\"]*\"", "");

    /// <summary>A store whose every call fails with a message that must never reach a client.</summary>
    private sealed class BrokenStore : IReferralStore
    {
        public Task<bool> TryCreateAsync(ReferralRecord record, CancellationToken ct) => throw Failure();
        public Task<Versioned<ReferralRecord>?> FindAsync(string referralId, CancellationToken ct) => throw Failure();
        public Task<TokenMatch?> FindByTokenHashAsync(string tokenHash, CancellationToken ct) => throw Failure();
        public Task<WriteOutcome> TryReplaceAsync(ReferralRecord record, string expectedVersion, CancellationToken ct) => throw Failure();
        public Task<WriteOutcome> TryDeleteAsync(string referralId, string expectedVersion, CancellationToken ct) => throw Failure();
        public IAsyncEnumerable<Versioned<ReferralRecord>> FindDueAsync(DateTimeOffset now, CancellationToken ct) => throw Failure();
        public IAsyncEnumerable<Versioned<ReferralRecord>> FindNotificationsDueAsync(DateTimeOffset now, CancellationToken ct) => throw Failure();
        public Task<ReferralPage> ListAsync(ReferralQuery query, CancellationToken ct) => throw Failure();

        private static InvalidOperationException Failure() => new(InternalDetail);
    }
}
