using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;

namespace ReferralBroker.Tests.Integration;

/// <summary>
/// Deliveries checked against the Standard Webhooks v1 specification with the standard's own library for JavaScript
/// (npm standardwebhooks, in <see cref="StandardWebhooksReceiver"/>) and with the StandardWebhooks NuGet verifier: what
/// a receiver written from the README would do. The broker's clock starts at the real time so the NuGet verifier, which
/// reads the system clock, can check timestamps too; the node receiver is set to the broker's clock whenever it moves.
/// </summary>
public sealed class StandardWebhooksTests : IAsyncLifetime
{
    private readonly string _secret = WebhookSecrets.Generate();
    private readonly string _stranger = WebhookSecrets.Generate();
    private StandardWebhooksReceiver _receiver = null!;
    private BrokerApp _app = null!;

    public async Task InitializeAsync()
    {
        _receiver = await StandardWebhooksReceiver.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()));
        _app = NewApp(time, new Dictionary<string, string?>
        {
            ["Broker:Organisations:1:Id"] = "notified-org",
            ["Broker:Organisations:1:Name"] = "Notified organisation",
            ["Broker:Organisations:1:ApiKeySha256"] = ApiKeys.Hash(NotificationTests.NotifiedOrgKey),
            ["Broker:Organisations:1:WebhookUrl"] = _receiver.Url.ToString(),
            ["Broker:Organisations:1:WebhookSecret"] = _secret,
            ["Broker:Notifications:AllowLoopbackHttpWebhooks"] = "true",
            ["Broker:Queue:RunNotifications"] = "false",
            ["Broker:Admin:CoordinatorKeySha256"] = ApiKeys.Hash(Coordinator.Key),
        });
        await _receiver.HoldersAsync(("holder", _secret), ("stranger", _stranger));
        await _receiver.ClockAsync(time.GetUtcNow());
    }

    private static BrokerApp NewApp(FakeTimeProvider time, Dictionary<string, string?> settings) => new(time: time, settings: settings);

    public async Task DisposeAsync()
    {
        _app.Dispose();
        _receiver.Dispose();
        await Task.CompletedTask;
    }

    private async Task<PartnerLink> SubmitAndDispatchAsync()
    {
        var submitted = await _app.SubmitAsync(BrokerApp.Referral("Qv27"), _app.Organisation(NotificationTests.NotifiedOrgKey));
        await _app.DispatchAsync();
        return _app.LinkFor(submitted.ReferralId);
    }

    private async Task AdvanceAsync(TimeSpan by)
    {
        _app.Time.Advance(by);
        await _receiver.ClockAsync(_app.Time.GetUtcNow());
    }

    private static HeaderDictionary Headers(VerifiedDelivery d, string? signature = null) => new()
    {
        ["webhook-id"] = d.Id,
        ["webhook-timestamp"] = d.Timestamp,
        ["webhook-signature"] = signature ?? d.Signature,
    };

    /// <summary>Sends a recorded delivery to the receiver again, as an attacker or a proxy might, with something changed.</summary>
    private async Task<HttpStatusCode> ReplayAsync(VerifiedDelivery d, string body, string? signature = null)
    {
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, _receiver.Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in Headers(d, signature))
        {
            request.Headers.TryAddWithoutValidation(name, value.ToString());
        }

        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task A_delivery_verifies_with_the_standard_libraries_and_carries_the_event_id_and_the_time_of_sending()
    {
        var link = await SubmitAndDispatchAsync();
        Assert.Equal(1, await _app.NotifyAsync());

        var delivery = Assert.Single(await _receiver.DeliveriesAsync());
        Assert.True(delivery.VerifiedBy("holder"), delivery.Verdicts["holder"]);
        Assert.Equal(204, delivery.Status);
        Assert.Equal($"{link.ReferralId}.delivered", delivery.Id);
        Assert.Equal(delivery.EventId, delivery.Id);
        Assert.Equal(_app.Time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), delivery.Timestamp);
        Assert.Single(delivery.Signature.Split(' '));
        Assert.StartsWith("v1,", delivery.Signature, StringComparison.Ordinal);
        // The broker's own scheme is gone entirely.
        Assert.Empty(delivery.OtherHeaders);
        // The body is the broker's event as before.
        Assert.Equal(["eventId", "referralId", "status", "at"], JsonDocument.Parse(delivery.Body).RootElement.EnumerateObject().Select(p => p.Name));

        // The StandardWebhooks NuGet verifier agrees (it reads the system clock, which the broker's clock started at).
        new StandardWebhook(_secret).Verify(delivery.Body, Headers(delivery));
    }

    [Fact]
    public async Task A_tampered_body_or_a_wrong_secret_is_refused_and_the_receiver_answers_4xx()
    {
        await SubmitAndDispatchAsync();
        Assert.Equal(1, await _app.NotifyAsync());
        var delivery = Assert.Single(await _receiver.DeliveriesAsync());
        Assert.Equal("refused: No matching signature found", delivery.Verdicts["stranger"]);
        Assert.Throws<WebhookVerificationException>(() => new StandardWebhook(_stranger).Verify(delivery.Body, Headers(delivery)));

        var tampered = delivery.Body.Replace("\"delivered\"", "\"accepted\"", StringComparison.Ordinal);
        Assert.NotEqual(delivery.Body, tampered);
        Assert.Equal(HttpStatusCode.BadRequest, await ReplayAsync(delivery, tampered));
        var replayed = (await _receiver.DeliveriesAsync())[^1];
        Assert.Equal("refused: No matching signature found", replayed.Verdicts["holder"]);
        Assert.Throws<WebhookVerificationException>(() => new StandardWebhook(_secret).Verify(tampered, Headers(delivery)));

        // The timestamp is signed: a fresh one on the same signature is refused too.
        var moved = delivery with { Timestamp = (long.Parse(delivery.Timestamp, CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture) };
        Assert.Equal(HttpStatusCode.BadRequest, await ReplayAsync(moved, delivery.Body));
    }

    [Fact]
    public async Task A_retry_keeps_the_webhook_id_and_is_signed_with_the_time_of_its_own_attempt()
    {
        await _receiver.FailNextAsync(1);
        await SubmitAndDispatchAsync();
        Assert.Equal(1, await _app.NotifyAsync());
        var first = _app.Time.GetUtcNow();
        await AdvanceAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, await _app.NotifyAsync());

        var deliveries = await _receiver.DeliveriesAsync();
        Assert.Equal([500, 204], deliveries.Select(d => d.Status));
        Assert.All(deliveries, d => Assert.True(d.VerifiedBy("holder"), d.Verdicts["holder"]));
        Assert.Single(deliveries.Select(d => d.Id).Distinct());
        Assert.Equal(deliveries[0].Body, deliveries[1].Body);
        Assert.Equal(
            [first.ToUnixTimeSeconds(), first.AddSeconds(30).ToUnixTimeSeconds()],
            deliveries.Select(d => long.Parse(d.Timestamp, CultureInfo.InvariantCulture)));
    }

    [Theory]
    [InlineData(6, "refused: Message timestamp too old")]
    [InlineData(-6, "refused: Message timestamp too new")]
    [InlineData(4, "verified")]
    [InlineData(-4, "verified")]
    public async Task A_receiver_whose_clock_is_more_than_five_minutes_off_the_timestamp_refuses_the_delivery(int minutes, string verdict)
    {
        await SubmitAndDispatchAsync();
        await _receiver.ClockAsync(_app.Time.GetUtcNow().AddMinutes(minutes));
        Assert.Equal(1, await _app.NotifyAsync());
        Assert.Equal(verdict, Assert.Single(await _receiver.DeliveriesAsync()).Verdicts["holder"]);
    }

    [Fact]
    public async Task During_a_rotation_overlap_old_and_new_secret_holders_both_verify_and_after_it_only_the_new_one()
    {
        var link = await SubmitAndDispatchAsync();
        Assert.Equal(1, await _app.NotifyAsync());

        var generated = await Coordinator.Client(_app).PostAsync("/api/admin/organisations/notified-org/webhook-secret", null);
        Assert.Equal(HttpStatusCode.Created, generated.StatusCode);
        var body = await generated.Content.ReadFromJsonAsync<JsonElement>();
        var newSecret = body.GetProperty("webhookSecret").GetString()!;
        var overlapEnds = body.GetProperty("previousSecretUntil").GetDateTimeOffset();
        Assert.Equal(_app.Time.GetUtcNow().AddHours(24), overlapEnds);
        await _receiver.HoldersAsync(("old", _secret), ("new", newSecret), ("stranger", _stranger));

        // An hour into the overlap: both signatures, newest first.
        await AdvanceAsync(TimeSpan.FromHours(1));
        var partner = _app.Partner(link);
        Assert.Equal(HttpStatusCode.OK, (await partner.PostAsync($"/api/partner/referrals/{link.ReferralId}/accept", null)).StatusCode);
        Assert.Equal(1, await _app.NotifyAsync());
        var during = (await _receiver.DeliveriesAsync())[^1];
        Assert.Equal($"{link.ReferralId}.accepted", during.Id);
        Assert.True(during.VerifiedBy("old"), during.Verdicts["old"]);
        Assert.True(during.VerifiedBy("new"), during.Verdicts["new"]);
        Assert.False(during.VerifiedBy("stranger"));
        var signatures = during.Signature.Split(' ');
        Assert.Equal(2, signatures.Length);
        Assert.Equal(HttpStatusCode.NoContent, await ReplayAsync(during, during.Body, signatures[0]));
        var newestFirst = (await _receiver.DeliveriesAsync())[^1];
        Assert.True(newestFirst.VerifiedBy("new"));
        Assert.False(newestFirst.VerifiedBy("old"));

        // The sweep leaves the old secret while it still signs.
        await _app.SweepAsync();
        Assert.NotNull(await StoredPreviousAsync());

        // Past the overlap: one signature, the new secret's; the old holder is refused, and the sweep erases the old secret.
        await AdvanceAsync(overlapEnds - _app.Time.GetUtcNow());
        Assert.Equal(HttpStatusCode.OK, (await partner.PostAsJsonAsync($"/api/partner/referrals/{link.ReferralId}/progress", new { status = "in-progress" })).StatusCode);
        Assert.Equal(1, await _app.NotifyAsync());
        var after = (await _receiver.DeliveriesAsync())[^1];
        Assert.Equal($"{link.ReferralId}.in-progress", after.Id);
        Assert.Single(after.Signature.Split(' '));
        Assert.True(after.VerifiedBy("new"), after.Verdicts["new"]);
        Assert.Equal("refused: No matching signature found", after.Verdicts["old"]);

        Assert.NotNull(await StoredPreviousAsync());
        await _app.SweepAsync();
        Assert.Null(await StoredPreviousAsync());
        Assert.DoesNotContain("previousWebhookSecretUntil", await Coordinator.Client(_app).GetStringAsync("/api/admin/organisations"), StringComparison.Ordinal);
        Assert.DoesNotContain(_app.Logs, l => l.Contains(newSecret, StringComparison.Ordinal) || l.Contains(_secret, StringComparison.Ordinal));
    }

    private async Task<RetiringWebhookSecret?> StoredPreviousAsync() =>
        (await _app.Services.GetRequiredService<IDirectoryStore>().LoadAsync(CancellationToken.None))
            .Organisations.Single(a => a.Organisation.Id == "notified-org").Organisation.Notifications.PreviousWebhookSecret;
}
