using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ReferralBroker.Embedded;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;

namespace ReferralBroker.Tests.Integration;

public sealed class DuressTokenTests : IDisposable
{
    private const string UnknownToken = "ZZZZ-ZZZZ-ZZZZ-ZZZZ";
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private readonly BrokerApp _app = new();

    public void Dispose() => _app.Dispose();

    private static JsonElement WithDuress(JsonElement referral)
    {
        var body = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(referral)!;
        body["duressToken"] = JsonSerializer.SerializeToElement(true);
        return JsonSerializer.SerializeToElement(body);
    }

    private async Task<(Submitted Referral, string DuressToken)> SubmitWithDuressAsync()
    {
        var response = await _app.Organisation().PostAsJsonAsync("/api/referrals", WithDuress(BrokerApp.Referral()));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (json.Deserialize<Submitted>(Web)!, json.GetProperty("duressToken").GetString()!);
    }

    /// <summary>The whole answer but the per-request trace id and the Date header.</summary>
    private async Task<(HttpStatusCode Status, string Headers, string Body)> PostAsync(string path, string token)
    {
        var response = await _app.CreateClient().PostAsJsonAsync(path, new { token });
        var problem = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.True(problem.Remove("traceId"));
        var headers = response.Headers.Concat(response.Content.Headers).Where(h => h.Key != "Date")
            .Select(h => $"{h.Key}: {string.Join(",", h.Value)}").Order(StringComparer.Ordinal);
        return (response.StatusCode, string.Join("\n", headers), problem.ToJsonString());
    }

    private async Task<JsonElement> OrganisationViewAsync(string referralId, TimeSpan? waitForFlag = null)
    {
        var deadline = DateTime.UtcNow + (waitForFlag ?? TimeSpan.Zero);
        while (true)
        {
            var view = await _app.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{referralId}");
            if (view.TryGetProperty("duressUsedAt", out _) || DateTime.UtcNow >= deadline)
            {
                return view;
            }

            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Only_a_referral_that_asks_for_one_gets_a_second_distinct_token()
    {
        var (submitted, duress) = await SubmitWithDuressAsync();
        Assert.Matches("^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$", duress);
        Assert.NotEqual(submitted.StatusToken, duress);

        var plain = await _app.Organisation().PostAsJsonAsync("/api/referrals", BrokerApp.Referral());
        Assert.False((await plain.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("duressToken", out _));
    }

    [Fact]
    public async Task The_duress_token_answers_exactly_like_an_unknown_token_and_flags_the_referral_for_the_organisation()
    {
        var (submitted, duress) = await SubmitWithDuressAsync();
        Assert.False((await OrganisationViewAsync(submitted.ReferralId)).TryGetProperty("duressUsedAt", out _));

        Assert.Equal(await PostAsync("/api/status", UnknownToken), await PostAsync("/api/status", duress));
        // Typed the way people type it, too.
        Assert.Equal(await PostAsync("/api/status", UnknownToken), await PostAsync("/api/status", duress.ToLowerInvariant().Replace('-', ' ')));

        var view = await OrganisationViewAsync(submitted.ReferralId, TimeSpan.FromSeconds(10));
        Assert.Equal(BrokerApp.Start, view.GetProperty("duressUsedAt").GetDateTimeOffset());
        var listed = (await _app.Organisation().GetFromJsonAsync<JsonElement>("/api/referrals")).GetProperty("items")
            .EnumerateArray().Single(i => i.GetProperty("referralId").GetString() == submitted.ReferralId);
        Assert.Equal(BrokerApp.Start, listed.GetProperty("duressUsedAt").GetDateTimeOffset());
        // The client's own token still works, and the client sees nothing of the flag.
        var status = await _app.StatusAsync(submitted.StatusToken);
        Assert.Equal("submitted", status.GetProperty("status").GetString());
        Assert.DoesNotContain("duress", status.GetRawText(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Withdrawing_with_the_duress_token_withdraws_nothing_and_answers_like_an_unknown_token()
    {
        var (submitted, duress) = await SubmitWithDuressAsync();

        Assert.Equal(await PostAsync("/api/status/withdraw", UnknownToken), await PostAsync("/api/status/withdraw", duress));

        await OrganisationViewAsync(submitted.ReferralId, TimeSpan.FromSeconds(10));
        Assert.Equal("submitted", (await _app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
        Assert.Equal(1, await _app.DispatchAsync());
        Assert.Single(_app.Outbox());
    }

    [Fact]
    public async Task A_retried_submission_returns_the_same_duress_token()
    {
        async Task<JsonElement> SubmitAsync()
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals") { Content = JsonContent.Create(WithDuress(BrokerApp.Referral())) };
            request.Headers.Add("Idempotency-Key", "duress-retry");
            return await (await _app.Organisation().SendAsync(request)).Content.ReadFromJsonAsync<JsonElement>();
        }

        var first = await SubmitAsync();
        var second = await SubmitAsync();
        Assert.Equal(first.GetProperty("duressToken").GetString(), second.GetProperty("duressToken").GetString());
        Assert.Equal(first.GetProperty("statusToken").GetString(), second.GetProperty("statusToken").GetString());
    }

    [Fact]
    public async Task A_non_boolean_duress_request_is_malformed()
    {
        var body = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(BrokerApp.Referral())!;
        body["duressToken"] = JsonSerializer.SerializeToElement("yes");
        var response = await _app.Organisation().PostAsJsonAsync("/api/referrals", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("duressToken", out _));
    }

    [Fact]
    public async Task A_duress_use_the_store_cannot_record_at_first_is_recorded_once_it_can_and_the_answer_does_not_wait_for_it()
    {
        var failing = new FailsReplaces(failures: 2);
        using var app = new BrokerApp(services: services => services.AddSingleton<IReferralStore>(sp =>
            failing.Around(sp.GetRequiredService<SqliteReferralStore>())));
        var response = await app.Organisation().PostAsJsonAsync("/api/referrals", WithDuress(BrokerApp.Referral()));
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        var (referralId, duress) = (json.GetProperty("referralId").GetString()!, json.GetProperty("duressToken").GetString()!);

        Assert.Equal(HttpStatusCode.NotFound, (await app.CreateClient().PostAsJsonAsync("/api/status", new { token = duress })).StatusCode);

        // The recorder waits on the broker's clock between attempts (1 s, then 2 s): move it on until the flag is there.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        JsonElement view;
        while (!(view = await app.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{referralId}")).TryGetProperty("duressUsedAt", out _))
        {
            Assert.True(DateTime.UtcNow < deadline, "The duress use was never recorded.");
            app.Time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20);
        }

        Assert.Equal(2, failing.Failed);
        Assert.True(view.GetProperty("duressUsedAt").GetDateTimeOffset() > BrokerApp.Start);
    }
}
