using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ReferralBroker.Embedded;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Tests.Reliability;

/// <summary>The bugs the fault run found, each pinned down on its own.</summary>
public sealed class DeliveryRegressionTests
{
    [Fact]
    public async Task Embedded_intake_stores_the_record_and_its_message_together_or_not_at_all()
    {
        using var app = new BrokerApp();
        _ = app.Services;
        await SqliteFile.ExecuteAsync(app, "CREATE TRIGGER queue_full BEFORE INSERT ON queue BEGIN SELECT RAISE(ABORT, 'disk full'); END;");

        var response = await app.Organisation().PostAsJsonAsync("/api/referrals", BrokerApp.Referral());
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal(0L, await SqliteFile.CountAsync(app, "referrals"));

        await SqliteFile.ExecuteAsync(app, "DROP TRIGGER queue_full;");
        var submitted = await app.SubmitAsync();
        Assert.Equal(1L, await SqliteFile.CountAsync(app, "queue"));
        await app.DispatchAsync();
        Assert.Equal("delivered", (await app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Without_a_shared_transaction_intake_queues_first_so_a_queue_that_is_down_stores_nothing_and_answers_no_201()
    {
        // Azure's intake (Service Bus, then Table Storage) over a queue that is down.
        using var app = new BrokerApp(services: services => services.AddSingleton<IReferralIntake>(sp =>
            new QueueThenStoreIntake(new DownQueue(), sp.GetRequiredService<IReferralStore>())));
        var organisation = app.Organisation();

        Assert.Equal(HttpStatusCode.InternalServerError, (await SubmitWithKeyAsync(organisation, "retry-me")).StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, (await SubmitWithKeyAsync(organisation, "retry-me")).StatusCode);

        Assert.Equal(0L, await SqliteFile.CountAsync(app, "referrals"));
    }

    [Fact]
    public async Task A_message_dropped_unsent_at_its_time_to_live_marks_its_referral_for_re_sending()
    {
        using var app = new BrokerApp();
        var submitted = await app.SubmitAsync();
        app.Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await app.SweepAsync();

        var view = await app.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{submitted.ReferralId}");
        Assert.True(view.GetProperty("deliveryFailed").GetBoolean());
        Assert.Equal(0, await app.DispatchAsync());
    }

    [Fact]
    public async Task A_crash_after_the_email_but_before_delivery_is_recorded_still_sends_one_email()
    {
        using var app = new BrokerApp();
        var submitted = await app.SubmitAsync();
        var queue = app.Services.GetRequiredService<SqliteReferralQueue>();
        var leased = await queue.TryReceiveAsync(CancellationToken.None);
        var referral = (await app.Services.GetRequiredService<IReferralStore>().FindAsync(submitted.ReferralId, CancellationToken.None))!.Value;
        var partner = app.Services.GetRequiredService<INetworkDirectory>().FindPartner(referral.PartnerId)!;
        // The email went out; the process died before "delivered" was written and the message completed.
        await app.Services.GetRequiredService<IMailSender>().SendAsync(
            PartnerMail.Compose(partner, referral, "https://broker.test", leased!.Message.LinkSecret), CancellationToken.None);

        app.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, await app.DispatchAsync());
        Assert.Single(app.Outbox());
        Assert.Equal("delivered", (await app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_referral_marked_undeliverable_is_never_emailed_afterwards()
    {
        using var app = new BrokerApp();
        var submitted = await app.SubmitAsync();
        Assert.True(await app.Services.GetRequiredService<ReferralService>().MarkUndeliverableAsync(submitted.ReferralId, CancellationToken.None));
        Assert.Equal(1, await app.DispatchAsync());
        Assert.Empty(app.Outbox());
    }

    [Fact]
    public async Task When_recording_delivery_fails_once_after_the_email_the_dispatcher_retries_it_instead_of_emailing_again()
    {
        using var app = new BrokerApp(services: services => services.AddSingleton<IReferralStore>(sp =>
            new FailsReplaces(failures: 1).Around(sp.GetRequiredService<SqliteReferralStore>())));
        var submitted = await app.SubmitAsync();
        Assert.Equal(1, await app.DispatchAsync());
        app.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(0, await app.DispatchAsync());
        Assert.Single(app.Outbox());
        Assert.Equal("delivered", (await app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
    }

    private static async Task<HttpResponseMessage> SubmitWithKeyAsync(HttpClient organisation, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals")
        {
            Content = new StringContent(BrokerApp.Referral().GetRawText(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", key);
        return await organisation.SendAsync(request);
    }

    private sealed class DownQueue : IReferralQueue
    {
        public Task EnqueueAsync(DispatchMessage message, CancellationToken cancellationToken) =>
            throw new HttpRequestException("503 Service Unavailable");
    }
}
