using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Tests.Reliability;

/// <summary>
/// Drives referrals through intake, queue, dispatch, partner actions, withdrawals and expiry on one data folder
/// while the <see cref="FaultPlan"/> crashes and fails the ports. A crashed instance is abandoned as it is (no
/// shutdown, no flush) and a new one starts on the same SQLite file, with the same development mailbox (a mail
/// server outlives a crashed broker). Sequential, so a seed replays it.
/// </summary>
public sealed class FaultRun(FaultPlan plan, Func<FaultPlan.Instance, BrokerApp> start, FakeTimeProvider time) : IDisposable
{
    private readonly List<BrokerApp> _apps = [];
    private readonly Dictionary<string, PartnerLink> _links = [];
    private BrokerApp _app = null!;
    private FaultPlan.Instance _instance = null!;
    private HttpClient _organisation = null!;
    private HttpClient _anyone = null!;

    public List<TrackedReferral> Referrals { get; } = [];
    public int Restarts { get; private set; }
    public IEnumerable<string> Logs => _apps.SelectMany(a => a.Logs);
    public BrokerApp Current => _app;
    public IReadOnlyDictionary<string, PartnerLink> Links => _links;

    public async Task RunAsync(int referrals)
    {
        Restart();
        Restarts = 0;
        while (Referrals.Count < referrals)
        {
            await StepAsync(plan.Next(100));
            if (_instance.Dead)
            {
                Restart();
            }
        }
    }

    /// <summary>No more faults: one clean restart, then redeliver until the queue is empty and sweep.</summary>
    public async Task SettleAsync()
    {
        plan.Heal();
        Restart();
        for (var round = 0; round < 20; round++)
        {
            await _app.DispatchAsync();
            time.Advance(TimeSpan.FromMinutes(6));
        }

        await _app.SweepAsync();
        await _app.DispatchAsync();
        ReadOutbox();
    }

    public async Task<Dictionary<string, FinalState>> FinalStatesAsync()
    {
        var emails = _app.Mailbox.Messages().Where(m => m.IsPartnerEmail).CountBy(m => m.ReferralId).ToDictionary();
        var finals = new Dictionary<string, FinalState>();
        foreach (var t in Referrals.Where(t => t.Acknowledged is not null))
        {
            var id = t.Acknowledged!.ReferralId;
            var org = await _organisation.GetAsync($"/api/referrals/{id}");
            var client = await _anyone.PostAsJsonAsync("/api/status", new { token = t.Acknowledged.StatusToken });
            var orgView = org.IsSuccessStatusCode ? await org.Content.ReadFromJsonAsync<JsonElement>() : (JsonElement?)null;
            var clientView = client.IsSuccessStatusCode ? await client.Content.ReadFromJsonAsync<JsonElement>() : (JsonElement?)null;
            finals[id] = new FinalState(
                orgView?.GetProperty("status").GetString(),
                clientView?.GetProperty("status").GetString(),
                orgView is { } v ? [.. v.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("status").GetString()!)] : [],
                orgView?.TryGetProperty("deliveryFailed", out var failed) == true && failed.GetBoolean(),
                emails.GetValueOrDefault(id),
                t.Acknowledged.ExpiresAt);
        }

        return finals;
    }

    private void Restart()
    {
        Restarts++;
        _instance = new FaultPlan.Instance();
        _app = start(_instance);
        _apps.Add(_app);
        _organisation = _app.Organisation();
        _anyone = _app.CreateClient();
    }

    private async Task StepAsync(int roll)
    {
        switch (roll)
        {
            case < 30:
                await SubmitAsync();
                break;
            case < 45:
                await DispatchAsync();
                break;
            case < 65:
                await PartnerActAsync();
                break;
            case < 72:
                await ClientAsync(withdraw: true);
                break;
            case < 85:
                await ClientAsync(withdraw: false);
                break;
            case < 97:
                time.Advance(TimeSpan.FromMinutes(1 + plan.Next(20)));
                break;
            default:
                await SurviveAsync(() => _app.SweepAsync());
                break;
        }
    }

    private async Task SubmitAsync()
    {
        var n = Referrals.Count;
        var marker = $"FAULT{n}MARK{plan.Next(int.MaxValue):x8}";
        // A third of the referrals get a short consent so that expiry happens during the run.
        var expiresAt = n % 3 == 0 ? (time.GetUtcNow() + TimeSpan.FromHours(12)).ToString("O") : null;
        var tracked = new TrackedReferral($"key-{n}", marker, BrokerApp.Referral(marker, expiresAt: expiresAt));
        Referrals.Add(tracked);
        // The organisation retries after a 5xx or a dropped connection, with the same Idempotency-Key.
        for (var attempt = 0; attempt < 4 && tracked.Acknowledged is null; attempt++)
        {
            await SubmitOnceAsync(tracked);
            if (_instance.Dead)
            {
                Restart();
            }
        }

        if (tracked.Acknowledged is not null && plan.Next(10) == 0)
        {
            await SubmitOnceAsync(tracked);
        }
    }

    private async Task SubmitOnceAsync(TrackedReferral tracked)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals")
        {
            Content = new StringContent(tracked.Body.GetRawText(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", tracked.IdempotencyKey);
        var response = await SendAsync(() => _organisation.SendAsync(request));
        if (response is { StatusCode: System.Net.HttpStatusCode.Created })
        {
            var submitted = await response.Content.ReadFromJsonAsync<Submitted>();
            if (tracked.Acknowledged is { } first && (first.ReferralId, first.StatusToken) != (submitted!.ReferralId, submitted.StatusToken))
            {
                tracked.IdempotencyViolations++;
            }

            tracked.Acknowledged ??= submitted;
        }
    }

    private async Task DispatchAsync()
    {
        await SurviveAsync(() => _app.DispatchAsync());
        ReadOutbox();
        // Locks run out and backoffs pass: redelivery of whatever a crash or a failing provider left behind.
        time.Advance(TimeSpan.FromSeconds(30));
    }

    private async Task PartnerActAsync()
    {
        if (_links.Count == 0)
        {
            return;
        }

        var link = _links.Values.ElementAt(plan.Next(_links.Count));
        // A referral stored by an attempt whose 201 never arrived is emailed too; its partner acts untracked.
        var tracked = Referrals.FirstOrDefault(t => t.Acknowledged?.ReferralId == link.ReferralId);
        var (path, body, target) = plan.Next(6) switch
        {
            0 or 1 => ("/accept", (object?)null, "accepted"),
            2 => ("/decline", new { reason = "no-capacity" }, "declined"),
            3 => ("/progress", new { status = "in-progress" }, "in-progress"),
            4 => ("/progress", new { status = "completed" }, "completed"),
            _ => ("/progress", (object?)new { status = "could-not-contact" }, "could-not-contact"),
        };
        var partner = _app.CreateClient();
        partner.DefaultRequestHeaders.Add("X-Referral-Capability", link.Capability);
        var url = $"/api/partner/referrals/{link.ReferralId}{path}";
        var response = await SendAsync(() => body is null ? partner.PostAsync(url, null) : partner.PostAsJsonAsync(url, body));
        tracked?.Attempts.Add(new Attempt(target, response is null ? Outcome.Unknown : HistoryChecker.Classify(response.StatusCode)));
    }

    private async Task ClientAsync(bool withdraw)
    {
        var acknowledged = Referrals.Where(t => t.Acknowledged is not null).ToList();
        if (acknowledged.Count == 0)
        {
            return;
        }

        var tracked = acknowledged[plan.Next(acknowledged.Count)];
        var response = await SendAsync(() => _anyone.PostAsJsonAsync(withdraw ? "/api/status/withdraw" : "/api/status",
            new { token = tracked.Acknowledged!.StatusToken.ToLowerInvariant() }));
        if (withdraw)
        {
            tracked.Attempts.Add(new Attempt("withdrawn", response is null ? Outcome.Unknown : HistoryChecker.Classify(response.StatusCode)));
        }
        else if (response is { IsSuccessStatusCode: true })
        {
            tracked.SeenStatuses.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString()!);
        }
        else if (response is { StatusCode: System.Net.HttpStatusCode.NotFound })
        {
            tracked.SeenStatuses.Add("unknown to the broker");
        }
    }

    /// <summary>A request whose process may die under it: null when no answer came back.</summary>
    private async Task<HttpResponseMessage?> SendAsync(Func<Task<HttpResponseMessage>> send)
    {
        try
        {
            var response = await send();
            return _instance.Dead ? null : response;
        }
        catch (Exception e) when (e is SimulatedCrashException or HttpRequestException or InjectedStoreFailureException)
        {
            return null;
        }
    }

    private static async Task SurviveAsync<T>(Func<Task<T>> work)
    {
        try
        {
            await work();
        }
        catch (Exception e) when (e is SimulatedCrashException or InjectedStoreFailureException)
        {
            // A crash leaves the instance dead and is restarted by the loop; a failed sweep runs again later.
        }
    }

    private void ReadOutbox()
    {
        // A redacted email has lost its link: its referral's details are gone, there is nothing left to open.
        foreach (var mail in _app.Mailbox.Messages().Where(m => m.IsPartnerEmail && !m.Redacted && !_links.ContainsKey(m.ReferralId)))
        {
            _links[mail.ReferralId] = BrokerApp.LinkIn(mail.Text);
        }
    }

    public void Dispose()
    {
        foreach (var app in _apps)
        {
            app.Dispose();
        }

        _apps.Clear();
    }
}
