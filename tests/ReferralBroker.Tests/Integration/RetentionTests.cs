using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ReferralBroker.Tests.Integration;

public sealed class RetentionTests : IDisposable
{
    private readonly BrokerApp _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task A_referral_nobody_accepts_before_consent_ends_expires_and_its_details_are_destroyed()
    {
        var (submitted, link) = await _app.SubmitAndDispatchAsync(BrokerApp.Referral(expiresAt: "2026-11-25T00:00:00Z"));
        _app.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0, (await _app.SweepAsync()).Expired);

        _app.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(1, (await _app.SweepAsync()).Expired);
        Assert.Equal("expired", (await _app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
        Assert.DoesNotContain("ciphertext", await Storage.RecordJsonAsync(_app, submitted.ReferralId), StringComparison.Ordinal);
        var accept = await _app.Partner(link).PostAsync($"/api/partner/referrals/{link.ReferralId}/accept", null);
        Assert.Equal(HttpStatusCode.Conflict, accept.StatusCode);
    }

    [Fact]
    public async Task An_accepted_referral_does_not_expire_but_its_details_go_14_days_after_acceptance()
    {
        var (submitted, link) = await _app.SubmitAndDispatchAsync(BrokerApp.Referral(expiresAt: "2026-11-25T00:00:00Z"));
        var partner = _app.Partner(link);
        await partner.PostAsync($"/api/partner/referrals/{link.ReferralId}/accept", null);

        _app.Time.Advance(TimeSpan.FromDays(13));
        Assert.Equal(new(0, 0, 0, 0), await _app.SweepAsync());
        Assert.Contains("ciphertext", await Storage.RecordJsonAsync(_app, submitted.ReferralId), StringComparison.Ordinal);

        _app.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(1, (await _app.SweepAsync()).SealedDestroyed);
        var view = await partner.GetFromJsonAsync<JsonElement>($"/api/partner/referrals/{link.ReferralId}");
        Assert.Equal("accepted", view.GetProperty("status").GetString());
        Assert.False(view.TryGetProperty("sealed", out _));
        Assert.DoesNotContain("ciphertext", await Storage.RecordJsonAsync(_app, submitted.ReferralId), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_closed_referral_is_forgotten_30_days_later()
    {
        var (submitted, link) = await _app.SubmitAndDispatchAsync();
        await _app.Partner(link).PostAsJsonAsync($"/api/partner/referrals/{link.ReferralId}/decline", new { reason = "no-capacity" });

        _app.Time.Advance(TimeSpan.FromDays(30));
        Assert.Equal(1, (await _app.SweepAsync()).Purged);
        var status = await _app.CreateClient().PostAsJsonAsync("/api/status", new { token = submitted.StatusToken });
        Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _app.Organisation().GetAsync($"/api/referrals/{submitted.ReferralId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _app.Partner(link).GetAsync($"/api/partner/referrals/{link.ReferralId}")).StatusCode);
    }

    [Fact]
    public async Task Retention_periods_come_from_configuration()
    {
        using var app = new BrokerApp(settings: new Dictionary<string, string?> { ["Broker:Retention:SealedAfterAcceptance"] = "2.00:00:00" });
        var (submitted, link) = await app.SubmitAndDispatchAsync();
        await app.Partner(link).PostAsync($"/api/partner/referrals/{link.ReferralId}/accept", null);
        var held = (await app.StatusAsync(submitted.StatusToken)).GetProperty("held").EnumerateArray()
            .Single(h => h.GetProperty("what").GetString()!.Contains("details", StringComparison.Ordinal));
        Assert.Equal(BrokerApp.Start.AddDays(2), held.GetProperty("deletedBy").GetDateTimeOffset());
    }
}
