using System.Net;
using System.Net.Http.Json;
using ReferralBroker.Referrals;

namespace ReferralBroker.Tests.Integration;

public sealed class NotificationTests : IAsyncLifetime
{
    public const string NotifiedOrgKey = "notified-org-key-0123456789";
    public const string NotificationEmail = "caseworkers@notified.example.org";
    private WebhookReceiver _receiver = null!;
    private BrokerApp _app = null!;

    public async Task InitializeAsync()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(BrokerApp.Start);
        _receiver = await WebhookReceiver.StartAsync(time.GetUtcNow);
        _app = NewApp(_receiver.Url, time: time);
    }

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _receiver.DisposeAsync();
    }

    /// <summary>The broker with one more organisation whose notifications go to the outbox and the receiver.</summary>
    internal static BrokerApp NewApp(Uri webhook, string? dataPath = null, Microsoft.Extensions.Time.Testing.FakeTimeProvider? time = null,
        bool runNotifications = false, bool allowLoopbackHttp = true) => new(dataPath, time: time, settings: new Dictionary<string, string?>
    {
        ["Broker:Organisations:1:Id"] = "notified-org",
        ["Broker:Organisations:1:Name"] = "Notified organisation",
        ["Broker:Organisations:1:ApiKeySha256"] = ApiKeys.Hash(NotifiedOrgKey),
        ["Broker:Organisations:1:NotificationEmail"] = NotificationEmail,
        ["Broker:Organisations:1:WebhookUrl"] = webhook.ToString(),
        ["Broker:Organisations:1:WebhookSecret"] = WebhookReceiver.Secret,
        ["Broker:Notifications:AllowLoopbackHttpWebhooks"] = allowLoopbackHttp ? "true" : "false",
        ["Broker:Queue:RunNotifications"] = runNotifications ? "true" : "false",
    });

    private async Task<(Submitted Referral, PartnerLink Link)> SubmitAndDispatchAsync(string marker = "Zx81")
    {
        var submitted = await _app.SubmitAsync(BrokerApp.Referral(marker), _app.Organisation(NotifiedOrgKey));
        await _app.DispatchAsync();
        return (submitted, _app.LinkFor(submitted.ReferralId));
    }

    private string[] OrganisationEmails() =>
        [.. _app.Outbox().Where(e => e.Contains($"To: <{NotificationEmail}>", StringComparison.Ordinal))];

    [Fact]
    public async Task Every_status_change_reaches_the_organisation_by_email_and_by_a_signed_webhook()
    {
        var (submitted, link) = await SubmitAndDispatchAsync();
        var partner = _app.Partner(link);
        Assert.Equal(HttpStatusCode.OK, (await partner.PostAsync($"/api/partner/referrals/{link.ReferralId}/accept", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await partner.PostAsJsonAsync($"/api/partner/referrals/{link.ReferralId}/progress", new { status = "in-progress" })).StatusCode);

        Assert.Equal(3, await _app.NotifyAsync());

        Assert.Empty(_receiver.Refused);
        // Events carry their time; a receiver orders by "at", not by arrival.
        Assert.Equal(["accepted", "delivered", "in-progress"], _receiver.Statuses.Order(StringComparer.Ordinal));
        Assert.All(_receiver.Events, e =>
        {
            Assert.Equal(submitted.ReferralId, e.GetProperty("referralId").GetString());
            Assert.Equal($"{submitted.ReferralId}.{e.GetProperty("status").GetString()}", e.GetProperty("eventId").GetString());
            Assert.Equal(BrokerApp.Start, e.GetProperty("at").GetDateTimeOffset());
            Assert.Equal(["eventId", "referralId", "status", "at"], e.EnumerateObject().Select(p => p.Name));
        });

        var emails = OrganisationEmails();
        Assert.Equal(3, emails.Length);
        foreach (var email in emails)
        {
            Assert.Contains(submitted.ReferralId, email, StringComparison.Ordinal);
            Assert.Contains("2026-11-23 12:00 UTC", email, StringComparison.Ordinal);
            // No client field, token, partner or category: only the id, the status and the time.
            foreach (var forbidden in new[] { "Zx81", "Mai", "Signal", "STI", submitted.StatusToken, "demo-health", "clinic", "health", link.Secret })
            {
                Assert.DoesNotContain(forbidden, email, StringComparison.OrdinalIgnoreCase);
            }
        }

        Assert.Contains(emails, e => e.Contains("is now: accepted", StringComparison.Ordinal));
        // The webhook's secret and address stay out of the logs (the default HttpClient logging would print the URL).
        Assert.DoesNotContain(_app.Logs, l => l.Contains(WebhookReceiver.Secret, StringComparison.Ordinal) || l.Contains(_receiver.Url.ToString(), StringComparison.Ordinal));
        Assert.Equal(0, await _app.NotifyAsync());
        _app.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0, await _app.NotifyAsync());
        Assert.Equal(3, _receiver.Events.Count);
    }

    [Fact]
    public async Task A_failing_webhook_is_retried_with_growing_back_off_and_the_email_is_not_sent_twice()
    {
        _receiver.FailNext(2);
        var (submitted, _) = await SubmitAndDispatchAsync();

        Assert.Equal(1, await _app.NotifyAsync());
        Assert.Empty(_receiver.Events);
        Assert.Single(OrganisationEmails());

        _app.Time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(0, await _app.NotifyAsync());
        _app.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await _app.NotifyAsync());
        Assert.Empty(_receiver.Events);

        // The second retry waits twice as long as the first.
        _app.Time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(0, await _app.NotifyAsync());
        _app.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await _app.NotifyAsync());

        Assert.Equal([$"{submitted.ReferralId}.delivered"], _receiver.EventIds);
        Assert.Equal(3, _receiver.Attempts.Count);
        Assert.Single(_receiver.Attempts.Distinct());
        Assert.Single(OrganisationEmails());
    }

    [Fact]
    public async Task A_redirect_is_not_followed_and_counts_as_a_failure()
    {
        await using var receiver = await WebhookReceiver.StartAsync(_app.Time.GetUtcNow);
        using var app = NewApp(receiver.RedirectingUrl, time: _app.Time);
        await app.SubmitAsync(organisation: app.Organisation(NotifiedOrgKey));
        await app.DispatchAsync();

        Assert.Equal(1, await app.NotifyAsync());
        Assert.Empty(receiver.Attempts);
        Assert.Contains(app.Logs, l => l.Contains("by webhook failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_notification_recorded_before_a_crash_is_delivered_after_the_restart()
    {
        var dataPath = Directory.CreateTempSubdirectory("broker-notify-restart-").FullName;
        string referralId;
        using (var before = NewApp(_receiver.Url, dataPath, _app.Time))
        {
            referralId = (await before.SubmitAsync(organisation: before.Organisation(NotifiedOrgKey))).ReferralId;
            await before.DispatchAsync();
            // The process dies before its notification pump runs: the status change is written, nothing was sent.
        }

        Assert.Empty(_receiver.Events);
        using var after = NewApp(_receiver.Url, dataPath, _app.Time, runNotifications: true);
        _ = after.Server;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (_receiver.Events.IsEmpty && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal([$"{referralId}.delivered"], _receiver.EventIds);
    }

    [Fact]
    public async Task A_referral_that_could_never_be_delivered_is_reported_as_delivery_failed()
    {
        var submitted = await _app.SubmitAsync(organisation: _app.Organisation(NotifiedOrgKey));
        var referrals = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
            .GetRequiredService<Referrals.ReferralService>(_app.Services);
        Assert.True(await referrals.MarkUndeliverableAsync(submitted.ReferralId, CancellationToken.None));

        await _app.NotifyAsync();
        Assert.Equal(["delivery-failed"], _receiver.Statuses);
    }

    [Fact]
    public async Task Organisations_without_notification_settings_are_owed_nothing_so_no_notification_is_kept()
    {
        var submitted = await _app.SubmitAsync();
        await _app.DispatchAsync();
        var link = _app.LinkFor(submitted.ReferralId);
        Assert.Equal(HttpStatusCode.OK, (await _app.Partner(link).PostAsync($"/api/partner/referrals/{link.ReferralId}/accept", null)).StatusCode);

        // Nothing was recorded for the worker to go through: not even an attempt to find that nobody listens.
        Assert.Equal(0, await _app.NotifyAsync());
        Assert.Empty(_receiver.Attempts);
        Assert.DoesNotContain(_app.Outbox(), e => e.Contains(submitted.ReferralId, StringComparison.Ordinal) && !e.Contains("/partner/", StringComparison.Ordinal));
    }

    [Fact]
    public void A_plain_http_webhook_outside_development_is_refused_at_start()
    {
        using var app = NewApp(new Uri("http://127.0.0.1:9/hook"), allowLoopbackHttp: false);
        var failure = Assert.ThrowsAny<Exception>(() => app.Server);
        Assert.Contains("https WebhookUrl", failure.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(WebhookReceiver.Secret, failure.ToString(), StringComparison.Ordinal);
    }
}
