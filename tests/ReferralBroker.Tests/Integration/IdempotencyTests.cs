using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace ReferralBroker.Tests.Integration;

public sealed class IdempotencyTests : IDisposable
{
    private readonly BrokerApp _app = new();

    public void Dispose() => _app.Dispose();

    private async Task<HttpResponseMessage> PostAsync(string key, JsonElement body, string orgKey = BrokerApp.OrgKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals")
        {
            Content = new StringContent(body.GetRawText(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", key);
        return await _app.Organisation(orgKey).SendAsync(request);
    }

    [Fact]
    public async Task A_retry_with_the_same_key_and_body_returns_the_same_referral_and_notifies_once()
    {
        var body = BrokerApp.Referral();
        var first = await (await PostAsync("retry-1", body)).Content.ReadFromJsonAsync<Submitted>();
        var retry = await PostAsync("retry-1", body);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(first, await retry.Content.ReadFromJsonAsync<Submitted>());

        await _app.DispatchAsync();
        Assert.Single(_app.Outbox());
        Assert.Equal("delivered", (await _app.StatusAsync(first!.StatusToken)).GetProperty("status").GetString());
    }

    /// <summary>A retry answers what the referral is now, not what it was when first sent (README, walkthrough step 1).</summary>
    [Fact]
    public async Task A_retry_after_the_partner_accepted_answers_the_same_referral_with_its_current_status()
    {
        var body = BrokerApp.Referral();
        var first = await (await PostAsync("retry-later", body)).Content.ReadFromJsonAsync<Submitted>();
        Assert.Equal("submitted", first!.Status);
        await _app.DispatchAsync();
        var link = _app.LinkFor(first.ReferralId);
        (await _app.Partner(link).PostAsync($"/api/partner/referrals/{first.ReferralId}/accept", null)).EnsureSuccessStatusCode();

        var retry = await PostAsync("retry-later", body);

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(first with { Status = "accepted" }, await retry.Content.ReadFromJsonAsync<Submitted>());
        Assert.Single(_app.Outbox());
    }

    [Fact]
    public async Task Concurrent_retries_create_one_referral()
    {
        var body = BrokerApp.Referral();
        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostAsync("burst", body)));
        var results = await Task.WhenAll(responses.Select(r => r.Content.ReadFromJsonAsync<Submitted>()));
        Assert.Single(results.Distinct());
        await _app.DispatchAsync();
        Assert.Single(_app.Outbox());
    }

    [Fact]
    public async Task The_same_key_with_a_different_body_is_a_409_conflict()
    {
        Assert.Equal(HttpStatusCode.Created, (await PostAsync("reused", BrokerApp.Referral("a"))).StatusCode);
        var conflict = await PostAsync("reused", BrokerApp.Referral("b"));
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("application/problem+json", conflict.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Keys_belong_to_one_organisation()
    {
        var body = BrokerApp.Referral();
        var ours = await (await PostAsync("shared-key", body)).Content.ReadFromJsonAsync<Submitted>();
        var theirs = await (await PostAsync("shared-key", body, BrokerApp.OtherOrgKey)).Content.ReadFromJsonAsync<Submitted>();
        Assert.NotEqual(ours!.ReferralId, theirs!.ReferralId);
    }

    [Fact]
    public async Task The_idempotency_record_is_forgotten_after_its_window()
    {
        var body = BrokerApp.Referral();
        var first = await (await PostAsync("window", body)).Content.ReadFromJsonAsync<Submitted>();
        _app.Time.Advance(TimeSpan.FromHours(25));
        var report = await _app.SweepAsync();
        Assert.Equal(1, report.IdempotencyPurged);
        var later = await (await PostAsync("window", body)).Content.ReadFromJsonAsync<Submitted>();
        Assert.NotEqual(first!.ReferralId, later!.ReferralId);
    }
}
