using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using ReferralBroker.Tests.Integration;
using ReferralBroker.Tokens;
using Xunit.Abstractions;

namespace ReferralBroker.Tests.Reliability;

/// <summary>
/// Token and capability guessing: throttled per address and by a broker-wide budget of misses, answered 429
/// with Retry-After, while the client with her real token and the partner with the real link still get through.
/// </summary>
public sealed class GuessingTests(ITestOutputHelper output)
{
    private static BrokerApp App(int perAddress, int globalMisses) => new(settings: new Dictionary<string, string?>
    {
        ["Broker:RateLimits:StatusPerMinute"] = perAddress.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Broker:RateLimits:PartnerPerMinute"] = perAddress.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Broker:RateLimits:GlobalMissesPerMinute"] = globalMisses.ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    [Fact]
    public async Task Guessing_from_one_address_is_throttled_with_429_Retry_After_and_problem_json()
    {
        using var app = App(perAddress: 5, globalMisses: 1000);
        var answers = new List<HttpContext>();
        for (var i = 0; i < 8; i++)
        {
            answers.Add(await FromAsync(app, "203.0.113.7", "/api/status", $$"""{"token":"{{StatusToken.Generate()}}"}"""));
        }

        Assert.All(answers.Take(5), a => Assert.Equal(404, a.Response.StatusCode));
        Assert.All(answers.Skip(5), a =>
        {
            Assert.Equal(429, a.Response.StatusCode);
            Assert.InRange(int.Parse(a.Response.Headers.RetryAfter!, System.Globalization.CultureInfo.InvariantCulture), 1, 60);
            Assert.StartsWith("application/problem+json", a.Response.ContentType, StringComparison.Ordinal);
        });
        // Another address is not held back by this one.
        Assert.Equal(404, (await FromAsync(app, "203.0.113.8", "/api/status", """{"token":"0000-0000-0000-0000"}""")).Response.StatusCode);
    }

    [Fact]
    public async Task Once_a_crowd_of_addresses_spends_the_global_budget_guessers_wait_but_the_real_client_and_partner_get_through()
    {
        using var app = App(perAddress: 1000, globalMisses: 40);
        var (submitted, link) = await app.SubmitAndDispatchAsync();

        // Forty addresses guess tokens and capabilities, three times each.
        var statuses = new List<int>();
        for (var round = 0; round < 3; round++)
        {
            for (var bot = 0; bot < 40; bot++)
            {
                var address = $"198.51.100.{bot}";
                statuses.Add((await FromAsync(app, address, "/api/status", $$"""{"token":"{{StatusToken.Generate()}}"}""")).Response.StatusCode);
                statuses.Add((await FromAsync(app, address, $"/api/partner/referrals/{link.ReferralId}/accept", "",
                    capability: Base64Url.Encode(new byte[32]))).Response.StatusCode);
            }
        }

        // The clients' and the partners' budgets are separate, forty misses each: the first round spends both, one
        // token and one capability miss per address, and every one of those addresses then waits.
        Assert.Equal(80, statuses.Count(s => s == 404));
        Assert.Equal(160, statuses.Count(s => s == 429));
        Figures.Report(output, "token guessing", $"guesses={statuses.Count} answered404={statuses.Count(s => s == 404)} throttled429={statuses.Count(s => s == 429)}");

        // The client, from her own phone, with her real token; the partner with the real link.
        var client = await FromAsync(app, "192.0.2.10", "/api/status", $$"""{"token":"{{submitted.StatusToken}}"}""");
        Assert.Equal(200, client.Response.StatusCode);
        var partner = await FromAsync(app, "192.0.2.11", $"/api/partner/referrals/{link.ReferralId}/accept", "", capability: link.Capability);
        Assert.Equal(200, partner.Response.StatusCode);
        // A new guesser gets one miss, then waits like the others.
        Assert.Equal(404, (await FromAsync(app, "192.0.2.12", "/api/status", """{"token":"0000-0000-0000-0000"}""")).Response.StatusCode);
        var waiting = await FromAsync(app, "192.0.2.12", "/api/status", $$"""{"token":"{{submitted.StatusToken}}"}""");
        Assert.Equal(429, waiting.Response.StatusCode);
        Assert.NotNull(waiting.Response.Headers.RetryAfter.ToString());

        // The budget is per minute: after it, a guesser who missed may ask again.
        app.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(200, (await FromAsync(app, "198.51.100.1", "/api/status", $$"""{"token":"{{submitted.StatusToken}}"}""")).Response.StatusCode);
    }

    /// <summary>
    /// The answers that must look alike must take alike: an unknown code and the duress code are both "not found",
    /// though the duress code finds a record. (A known code answers 200 with its status, which says more than any
    /// timing could, so its timing protects nothing.)
    /// </summary>
    [Fact]
    public async Task Not_found_lookups_take_the_same_time_for_the_duress_token_and_unknown_tokens()
    {
        using var app = App(perAddress: 1_000_000, globalMisses: 1_000_000);
        var body = JsonSerializer.SerializeToNode(BrokerApp.Referral())!.AsObject();
        body["duressToken"] = true;
        var response = await app.Organisation().PostAsJsonAsync("/api/referrals", body);
        var duress = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("duressToken").GetString()!;
        var client = app.CreateClient();
        var random = new Random(5);
        var known = new List<double>();
        var unknown = new List<double>();
        for (var i = 0; i < 60; i++)
        {
            await client.PostAsJsonAsync("/api/status", new { token = i % 2 == 0 ? duress : StatusToken.Generate() });
        }

        // Interleaved at random, so drift in the machine's load falls on both alike.
        for (var i = 0; i < 1200; i++)
        {
            var isKnown = random.Next(2) == 0;
            var token = isKnown ? duress : StatusToken.Generate();
            var watch = Stopwatch.StartNew();
            var answer = await client.PostAsJsonAsync("/api/status", new { token });
            watch.Stop();
            Assert.Equal(HttpStatusCode.NotFound, answer.StatusCode);
            (isKnown ? known : unknown).Add(watch.Elapsed.TotalMicroseconds);
        }

        // Robust to CI noise: medians, and the difference judged against the spread of the samples themselves.
        var (knownMedian, unknownMedian) = (Median(known), Median(unknown));
        var spread = Math.Max(Iqr(known), Iqr(unknown));
        var difference = Math.Abs(knownMedian - unknownMedian);
        var line = $"timing: duressMedianUs={knownMedian:F0} unknownMedianUs={unknownMedian:F0} differenceUs={difference:F0} iqrUs={spread:F0} samples={known.Count}+{unknown.Count}";
        Figures.Report(output, "status lookup timing", line);
        Assert.True(difference <= Math.Max(0.5 * spread, 0.15 * Math.Min(knownMedian, unknownMedian)), line);
    }

    private static double Median(List<double> samples) => Quantile(samples, 0.5);

    private static double Iqr(List<double> samples) => Quantile(samples, 0.75) - Quantile(samples, 0.25);

    private static double Quantile(List<double> samples, double q)
    {
        var sorted = samples.Order().ToArray();
        return sorted[(int)Math.Round(q * (sorted.Length - 1))];
    }

    /// <summary>A POST from a given address, which the in-memory client cannot set.</summary>
    internal static Task<HttpContext> FromAsync(BrokerApp app, string address, string path, string json, string? capability = null) =>
        app.Server.SendAsync(context =>
        {
            context.Connection.RemoteIpAddress = IPAddress.Parse(address);
            context.Request.Method = "POST";
            context.Request.Path = path;
            context.Request.ContentType = "application/json";
            context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(json));
            if (capability is not null)
            {
                context.Request.Headers["X-Referral-Capability"] = capability;
            }
        });
}
