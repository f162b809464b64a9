using System.Net.Http.Json;
using System.Text;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Tests.Reliability;

/// <summary>
/// Retention end to end on the fake clock: referrals down every path, then the configured periods pass and the
/// sweep runs; what the broker keeps is counted in the SQLite file itself, not asked of the API.
/// </summary>
public sealed class RetentionSweepTests
{
    [Fact]
    public async Task After_the_configured_periods_no_sealed_referral_status_record_idempotency_record_or_queued_message_is_left()
    {
        using var app = new BrokerApp();
        var organisation = app.Organisation();
        var links = new List<PartnerLink>();
        var tokens = new Dictionary<string, string>();
        for (var i = 0; i < 5; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals") { Content = JsonContent.Create(BrokerApp.Referral($"r{i}")) };
            request.Headers.Add("Idempotency-Key", $"retention-{i}");
            var submitted = (await (await organisation.SendAsync(request)).Content.ReadFromJsonAsync<Submitted>())!;
            tokens[submitted.ReferralId] = submitted.StatusToken;
        }

        await app.DispatchAsync();
        links.AddRange(app.Outbox().Select(BrokerApp.LinkIn));
        // One accepted and worked on, one declined, one withdrawn, one accepted and left, one never answered.
        await app.Partner(links[0]).PostAsync($"/api/partner/referrals/{links[0].ReferralId}/accept", null);
        await app.Partner(links[0]).PostAsJsonAsync($"/api/partner/referrals/{links[0].ReferralId}/progress", new { status = "completed" });
        await app.Partner(links[1]).PostAsJsonAsync($"/api/partner/referrals/{links[1].ReferralId}/decline", new { reason = "other" });
        await app.StatusAsync(tokens[links[2].ReferralId], "/api/status/withdraw");
        await app.Partner(links[3]).PostAsync($"/api/partner/referrals/{links[3].ReferralId}/accept", null);
        // One more submitted but never dispatched: its queued message holds a link secret.
        await app.SubmitAsync();
        Assert.Equal((6L, 5L, 1L), (await SqliteFile.CountAsync(app, "referrals"), await SqliteFile.CountAsync(app, "idempotency"), await SqliteFile.CountAsync(app, "queue")));
        Assert.Equal(4L, await SqliteFile.CountAsync(app, "referrals", "record LIKE '%ciphertext%'"));

        app.Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await app.SweepAsync();
        Assert.Equal((0L, 0L), (await SqliteFile.CountAsync(app, "idempotency"), await SqliteFile.CountAsync(app, "queue")));

        app.Time.Advance(TimeSpan.FromDays(14));
        await app.SweepAsync();
        // 15 days on: details accepted 14 days ago are destroyed, and the undispatched referral's went when its
        // message expired (it was marked for re-sending); the unanswered one waits for consent to end.
        Assert.Equal(1L, await SqliteFile.CountAsync(app, "referrals", "record LIKE '%ciphertext%'"));

        app.Time.Advance(TimeSpan.FromDays(16));
        await app.SweepAsync();
        Assert.Equal(0L, await SqliteFile.CountAsync(app, "referrals", "record LIKE '%ciphertext%'"));

        app.Time.Advance(TimeSpan.FromDays(150));
        await app.SweepAsync();
        Assert.Equal(0L, await SqliteFile.CountAsync(app, "referrals"));
        var file = await File.ReadAllBytesAsync(app.DatabasePath);
        Assert.Equal(-1, file.AsSpan().IndexOf("ciphertext"u8));
        Assert.Equal(-1, file.AsSpan().IndexOf(Encoding.UTF8.GetBytes(links[0].ReferralId)));
    }
}
