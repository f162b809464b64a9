using System.Net.Http.Json;
using System.Text;

namespace ReferralBroker.Tests.Integration;

/// <summary>
/// If the broker is seized: after a run of referrals through every path, nothing a client said, no status
/// token and no link secret can be found in its database file, its write-ahead log, its outbox or its logs.
/// </summary>
public sealed class SeizureTests : IDisposable
{
    private readonly BrokerApp _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task A_seized_broker_yields_no_client_data_tokens_or_link_secrets()
    {
        var markers = new List<string>();
        var tokens = new List<string>();
        var referralIds = new List<string>();
        var secrets = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var marker = $"SEIZE{i}MARK{Guid.NewGuid():N}";
            markers.Add(marker);
            var submitted = await _app.SubmitAsync(BrokerApp.Referral(marker));
            tokens.Add(submitted.StatusToken);
            referralIds.Add(submitted.ReferralId);
        }

        await _app.DispatchAsync();
        // In submission order, so links[i] is tokens[i]'s referral (the outbox files sort by their random ids).
        var links = referralIds.Select(_app.LinkFor).ToList();
        secrets.AddRange(links.Select(l => l.Secret));
        secrets.AddRange(links.Select(l => l.Capability));

        // Every path: accepted and worked on, declined, withdrawn, left open, expired, status checked.
        var partner = (int i) => _app.Partner(links[i]);
        string Url(int i, string action) => $"/api/partner/referrals/{links[i].ReferralId}{action}";
        await partner(0).PostAsync(Url(0, "/accept"), null);
        await partner(0).PostAsJsonAsync(Url(0, "/progress"), new { status = "in-progress" });
        await partner(1).PostAsJsonAsync(Url(1, "/decline"), new { reason = "other" });
        // The emails come in no particular order: withdraw the referral no partner has touched.
        await _app.StatusAsync(tokens[2], "/api/status/withdraw");
        await partner(3).PostAsync(Url(3, "/accept"), null);
        foreach (var token in tokens)
        {
            await _app.CreateClient().PostAsJsonAsync("/api/status", new { token = token.ToLowerInvariant() });
        }

        await partner(4).GetAsync(Url(4, ""));
        _app.Time.Advance(TimeSpan.FromDays(31));
        await _app.SweepAsync();

        var places = new Dictionary<string, byte[]>
        {
            ["logs"] = Encoding.UTF8.GetBytes(string.Join('\n', _app.Logs)),
            ["outbox"] = Encoding.UTF8.GetBytes(string.Join('\n', _app.Outbox())),
        };
        foreach (var file in Directory.GetFiles(_app.DataPath, "broker.db*"))
        {
            places[Path.GetFileName(file)] = await BrokerApp.ReadSharedAsync(file);
        }

        Assert.True(places["broker.db"].Length > 0);
        // The write-ahead log and its index hold earlier images of rewritten pages: they are searched too.
        Assert.Contains("broker.db-wal", places.Keys);
        Assert.Contains("broker.db-shm", places.Keys);
        Assert.NotEmpty(_app.Logs);
        foreach (var (place, bytes) in places)
        {
            foreach (var marker in markers)
            {
                AssertAbsent(place, bytes, marker);
            }

            foreach (var token in tokens)
            {
                AssertAbsent(place, bytes, token);
                AssertAbsent(place, bytes, token.Replace("-", "", StringComparison.Ordinal));
            }

            foreach (var secret in place == "outbox" ? links.Select(l => l.Capability) : secrets)
            {
                AssertAbsent(place, bytes, secret);
            }
        }
    }

    private static void AssertAbsent(string place, byte[] haystack, string needle)
    {
        Assert.False(haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0, $"'{needle}' found in {place}");
        Assert.False(haystack.AsSpan().IndexOf(Encoding.Unicode.GetBytes(needle)) >= 0, $"'{needle}' (UTF-16) found in {place}");
    }
}
