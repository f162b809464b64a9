using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ReferralBroker.Tests.Integration;

public sealed class ClientStatusTests : IDisposable
{
    private readonly BrokerApp _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task A_token_is_accepted_the_way_people_type_it()
    {
        var submitted = await _app.SubmitAsync();
        var canonical = submitted.StatusToken.Replace("-", "", StringComparison.Ordinal);
        var lookAlikes = canonical.Replace('0', 'O').Replace('1', 'l');
        foreach (var typed in new[] { submitted.StatusToken.ToLowerInvariant(), canonical, $" {canonical[..8]} {canonical[8..]} ", lookAlikes })
        {
            Assert.Equal("submitted", (await _app.StatusAsync(typed)).GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task Unknown_malformed_and_purged_tokens_get_the_same_404()
    {
        var submitted = await _app.SubmitAsync();
        await _app.StatusAsync(submitted.StatusToken, "/api/status/withdraw");
        _app.Time.Advance(TimeSpan.FromDays(31));
        await _app.SweepAsync();

        var bodies = new List<string>();
        foreach (var token in new[] { "0000-0000-0000-0000", "not a token!", "", submitted.StatusToken })
        {
            var response = await _app.CreateClient().PostAsJsonAsync("/api/status", new { token });
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            // Everything but the per-request trace id must be the same, or the answer would tell tokens apart.
            var problem = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
            Assert.True(problem.Remove("traceId"));
            bodies.Add(problem.ToJsonString());
        }

        Assert.Single(bodies.Distinct());
    }

    [Fact]
    public async Task Withdrawal_destroys_the_sealed_referral_and_stops_the_partner_link()
    {
        var (submitted, link) = await _app.SubmitAndDispatchAsync();
        var withdrawn = await _app.StatusAsync(submitted.StatusToken, "/api/status/withdraw");
        Assert.Equal("withdrawn", withdrawn.GetProperty("status").GetString());
        Assert.DoesNotContain(withdrawn.GetProperty("held").EnumerateArray(),
            h => h.GetProperty("what").GetString()!.Contains("details", StringComparison.Ordinal));

        var partner = _app.Partner(link);
        var view = await partner.GetFromJsonAsync<JsonElement>($"/api/partner/referrals/{link.ReferralId}");
        Assert.False(view.TryGetProperty("sealed", out _));
        Assert.Equal(HttpStatusCode.Conflict, (await partner.PostAsync($"/api/partner/referrals/{link.ReferralId}/accept", null)).StatusCode);

        var organisation = await _app.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{submitted.ReferralId}");
        Assert.Equal("withdrawn", organisation.GetProperty("status").GetString());
        Assert.DoesNotContain("ciphertext", await Storage.RecordJsonAsync(_app, submitted.ReferralId), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Withdrawing_twice_answers_the_same_and_a_finished_referral_cannot_be_withdrawn()
    {
        var first = await _app.SubmitAsync();
        await _app.StatusAsync(first.StatusToken, "/api/status/withdraw");
        Assert.Equal("withdrawn", (await _app.StatusAsync(first.StatusToken, "/api/status/withdraw")).GetProperty("status").GetString());

        var (second, link) = await _app.SubmitAndDispatchAsync();
        await _app.Partner(link).PostAsJsonAsync($"/api/partner/referrals/{link.ReferralId}/decline", new { reason = "no-capacity" });
        var response = await _app.CreateClient().PostAsJsonAsync("/api/status/withdraw", new { token = second.StatusToken });
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
    }

    [Fact]
    public async Task Withdrawing_before_dispatch_means_the_partner_is_never_emailed()
    {
        var submitted = await _app.SubmitAsync();
        await _app.StatusAsync(submitted.StatusToken, "/api/status/withdraw");
        Assert.Equal(1, await _app.DispatchAsync());
        Assert.Empty(_app.Outbox());
    }

    [Fact]
    public async Task The_client_sees_everything_held_and_when_it_goes()
    {
        var submitted = await _app.SubmitAsync();
        var status = await _app.StatusAsync(submitted.StatusToken);
        var held = status.GetProperty("held").EnumerateArray().ToList();
        Assert.Equal(4, held.Count);
        Assert.All(held, h => Assert.True(h.GetProperty("deletedBy").GetDateTimeOffset() > BrokerApp.Start));
        // Unaccepted details go when consent ends; the rest some time after the referral closes.
        Assert.Contains(held, h => h.GetProperty("deletedBy").GetDateTimeOffset() == submitted.ExpiresAt);
        Assert.Contains(held, h => h.GetProperty("deletedBy").GetDateTimeOffset() == submitted.ExpiresAt.AddDays(30));
    }
}

internal static class Storage
{
    public static async Task<string> RecordJsonAsync(BrokerApp app, string referralId)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={app.DatabasePath};Mode=ReadOnly");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT record FROM referrals WHERE referral_id = $id";
        command.Parameters.AddWithValue("$id", referralId);
        return (string)(await command.ExecuteScalarAsync())!;
    }
}
