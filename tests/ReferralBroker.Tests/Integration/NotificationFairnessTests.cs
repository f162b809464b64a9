using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;

namespace ReferralBroker.Tests.Integration;

/// <summary>One slow receiver delays no one else: lanes per organisation, a cap, a pass budget, back-off, duress first.</summary>
public sealed class NotificationFairnessTests
{
    private static string Key(int n) => $"org-{n}-key-0123456789";

    private static string Email(int n) => $"caseworkers@org-{n}.example.org";

    /// <summary>Organisations org-1..org-N (settings 1..N; 0 is BrokerApp's other-org), each with a webhook at https://hooks-N.example.</summary>
    private static Dictionary<string, string?> Organisations(int count, int cap = 8, bool email = false, bool webhook = true)
    {
        var settings = new Dictionary<string, string?> { ["Broker:Notifications:MaxConcurrentDeliveries"] = cap.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        for (var n = 1; n <= count; n++)
        {
            settings[$"Broker:Organisations:{n}:Id"] = $"org-{n}";
            settings[$"Broker:Organisations:{n}:Name"] = $"Organisation {n}";
            settings[$"Broker:Organisations:{n}:ApiKeySha256"] = ApiKeys.Hash(Key(n));
            settings[$"Broker:Organisations:{n}:NotificationEmail"] = email ? Email(n) : null;
            settings[$"Broker:Organisations:{n}:WebhookUrl"] = webhook ? $"https://hooks-{n}.example/hook" : null;
            settings[$"Broker:Organisations:{n}:WebhookSecret"] = webhook ? WebhookReceiver.Secret : null;
        }

        return settings;
    }

    private static async Task<string> SubmitAndDispatchAsync(BrokerApp app, int organisation)
    {
        var submitted = await app.SubmitAsync(organisation: app.Organisation(Key(organisation)));
        await app.DispatchAsync();
        return submitted.ReferralId;
    }

    private static async Task<ReferralRecord> RecordAsync(BrokerApp app, string referralId) =>
        (await app.Services.GetRequiredService<IReferralStore>().FindAsync(referralId, CancellationToken.None))!.Value;

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_webhook_that_accepts_the_connection_and_never_answers_delays_another_organisations_email_by_less_than_two_seconds()
    {
        // Organisation 1: email and a webhook that takes the connection and reads nothing. Organisation 2: email only.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var settings = Organisations(2, email: true, webhook: false);
        settings["Broker:Organisations:1:WebhookUrl"] = $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/hook";
        settings["Broker:Organisations:1:WebhookSecret"] = WebhookReceiver.Secret;
        settings["Broker:Notifications:AllowLoopbackHttpWebhooks"] = "true";
        settings["Broker:Queue:RunNotifications"] = "true";
        // Five minutes: were organisation 2 waiting for organisation 1's receiver in any way, it would wait that long.
        settings["Broker:Notifications:ResponseTimeout"] = "00:05:00";
        using var app = new BrokerApp(settings: settings, services: s => s.AddSingleton(TimeProvider.System));

        var slow = await SubmitAndDispatchAsync(app, 1);
        // The real pump takes organisation 1's "delivered" notice and its webhook call now hangs on the silent listener.
        using var hanging = await silent.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(30));

        var quick = (await app.SubmitAsync(organisation: app.Organisation(Key(2)))).ReferralId;
        // The "delivered" event is recorded by the dispatch: from the moment it returns, organisation 2's notice is
        // due, and the clock starts. (Started before it, the clock would count the dispatch's own SQLite and sealing
        // work, which on a loaded machine is no measure of fairness.) The pump that waited for organisation 1's
        // receiver failed this by minutes, not milliseconds.
        await app.DispatchAsync();
        var clock = Stopwatch.StartNew();
        await WaitForAsync(() => Task.FromResult(app.Outbox().Any(m => m.Contains($"To: <{Email(2)}>", StringComparison.Ordinal)
            && m.Contains(quick, StringComparison.Ordinal))), "organisation 2's email");
        clock.Stop();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"Organisation 2's email took {clock.Elapsed.TotalMilliseconds:F0} ms.");
        // Organisation 1's webhook was still hanging all the while: nothing answered it.
        Assert.False(Assert.Single((await RecordAsync(app, slow)).Notifications).WebhookSent);
    }

    [Fact]
    public async Task A_duress_token_event_is_delivered_first_in_a_pass()
    {
        var sender = new RecordingWebhookSender();
        using var app = new BrokerApp(settings: Organisations(3, cap: 1), services: s => s.AddSingleton<IWebhookSender>(sender));
        var first = await SubmitAndDispatchAsync(app, 1);
        var second = await SubmitAndDispatchAsync(app, 2);
        var response = await app.Organisation(Key(3)).PostAsJsonAsync("/api/referrals", WithDuress(BrokerApp.Referral()));
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        var third = created.GetProperty("referralId").GetString()!;
        await app.DispatchAsync();
        // The duress token used last, after every other change.
        app.Time.Advance(TimeSpan.FromMinutes(1));
        await app.CreateClient().PostAsJsonAsync("/api/status", new { token = created.GetProperty("duressToken").GetString() });
        await WaitForAsync(async () => (await RecordAsync(app, third)).DuressUsedAt is not null, "the duress event");

        Assert.Equal(4, await app.NotifyAsync());

        var order = sender.Calls.Select(c => c.EventId).ToList();
        Assert.Equal($"{third}.{ClosedLoop.DuressEvent}", order[0]);
        Assert.Equal($"{third}.delivered", order[1]);
        Assert.Equal(new[] { $"{first}.delivered", $"{second}.delivered" }.Order(StringComparer.Ordinal), order[2..].Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task No_more_organisations_than_the_cap_are_served_at_once_and_every_one_is_served()
    {
        var release = new SemaphoreSlim(0);
        var sender = new RecordingWebhookSender(_ => release.WaitAsync());
        using var app = new BrokerApp(settings: Organisations(5, cap: 2), services: s => s.AddSingleton<IWebhookSender>(sender));
        for (var n = 1; n <= 5; n++)
        {
            await SubmitAndDispatchAsync(app, n);
        }

        var pass = app.NotifyAsync();
        for (var released = 0; released < 5; released++)
        {
            var expected = Math.Min(2, 5 - released);
            await WaitForAsync(() => Task.FromResult(sender.InFlight == expected), $"{expected} deliveries in flight");
            // Room for a lane over the cap to show itself (all five are due at once): none may.
            await Task.Delay(100);
            Assert.Equal(expected, sender.InFlight);
            release.Release();
        }

        Assert.Equal(5, await pass);
        Assert.Equal(2, sender.MaxInFlight);
        Assert.Equal(5, sender.Calls.Select(c => c.Url.Host).Distinct().Count());
    }

    [Fact]
    public async Task After_the_pass_budget_no_new_delivery_starts_and_the_rest_wait_for_the_next_pass_without_an_attempt_counted()
    {
        var time = new FakeTimeProvider(BrokerApp.Start);
        // The first delivery takes longer than the whole budget.
        var sender = new RecordingWebhookSender(_ =>
        {
            time.Advance(TimeSpan.FromSeconds(11));
            return Task.CompletedTask;
        }, onlyFirst: true);
        var settings = Organisations(3, cap: 1);
        settings["Broker:Notifications:PassBudget"] = "00:00:10";
        using var app = new BrokerApp(time: time, settings: settings, services: s => s.AddSingleton<IWebhookSender>(sender));
        var referrals = new List<string>();
        for (var n = 1; n <= 3; n++)
        {
            referrals.Add(await SubmitAndDispatchAsync(app, n));
        }

        Assert.Equal(1, await app.NotifyAsync());
        Assert.Single(sender.Calls);
        var waiting = new List<PendingNotification>();
        foreach (var id in referrals)
        {
            waiting.AddRange((await RecordAsync(app, id)).Notifications);
        }

        Assert.Equal(2, waiting.Count);
        Assert.All(waiting, n => Assert.Equal(0, n.Attempts));

        Assert.Equal(2, await app.NotifyAsync());
        Assert.Equal(3, sender.Calls.Count);
    }

    [Fact]
    public async Task A_destination_that_does_not_answer_gets_nothing_more_in_the_pass_and_waits_while_others_are_served()
    {
        var unreachable = true;
        var sender = new RecordingWebhookSender(d => unreachable && d.Url.Host == "hooks-1.example"
            ? Task.FromException(new TransientDeliveryException("The webhook could not be reached in time.") { Unreachable = true })
            : Task.CompletedTask);
        using var app = new BrokerApp(settings: Organisations(2, cap: 1), services: s => s.AddSingleton<IWebhookSender>(sender));
        var a1 = await SubmitAndDispatchAsync(app, 1);
        var a2 = await SubmitAndDispatchAsync(app, 1);
        var b = await SubmitAndDispatchAsync(app, 2);

        Assert.Equal(2, await app.NotifyAsync());
        Assert.Equal(1, sender.Calls.Count(c => c.Url.Host == "hooks-1.example"));
        Assert.Equal([$"{b}.delivered"], sender.Delivered.Select(d => d.EventId));
        // The one that failed counts an attempt; the one behind it was not tried, so it counts none.
        var attempts = new List<int>();
        foreach (var id in new[] { a1, a2 })
        {
            attempts.Add(Assert.Single((await RecordAsync(app, id)).Notifications).Attempts);
        }

        attempts.Sort();
        Assert.Equal([0, 1], attempts);

        // The destination waits out its back-off, even on the next pass.
        Assert.Equal(0, await app.NotifyAsync());
        Assert.Equal(1, sender.Calls.Count(c => c.Url.Host == "hooks-1.example"));

        unreachable = false;
        app.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(2, await app.NotifyAsync());
        Assert.Equal(new[] { $"{a1}.delivered", $"{a2}.delivered" }.Order(StringComparer.Ordinal), sender.Delivered.Select(d => d.EventId).Where(e => !e.StartsWith(b, StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    private static JsonElement WithDuress(JsonElement referral)
    {
        var body = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(referral)!;
        body["duressToken"] = JsonSerializer.SerializeToElement(true);
        return JsonSerializer.SerializeToElement(body);
    }

    /// <summary>The webhook edge replaced: records each call, how many are in flight, and does what the test says.</summary>
    private sealed class RecordingWebhookSender(Func<WebhookDelivery, Task>? behaviour = null, bool onlyFirst = false) : IWebhookSender
    {
        private int _inFlight;
        private int _maxInFlight;

        public ConcurrentQueue<WebhookDelivery> Calls { get; } = new();
        public ConcurrentQueue<WebhookDelivery> Delivered { get; } = new();
        public int InFlight => Volatile.Read(ref _inFlight);
        public int MaxInFlight => Volatile.Read(ref _maxInFlight);

        public async Task SendAsync(WebhookDelivery delivery, CancellationToken cancellationToken)
        {
            var now = Interlocked.Increment(ref _inFlight);
            var max = _maxInFlight;
            while (now > max && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max)
            {
                max = _maxInFlight;
            }

            Calls.Enqueue(delivery);
            try
            {
                if (behaviour is not null && (!onlyFirst || Calls.Count == 1))
                {
                    await behaviour(delivery);
                }

                Delivered.Enqueue(delivery);
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }
    }
}
