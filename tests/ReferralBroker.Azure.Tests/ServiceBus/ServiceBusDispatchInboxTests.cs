using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ReferralBroker.Azure.ServiceBus;
using ReferralBroker.Azure.Tests.Hosting;
using ReferralBroker.Azure.Tests.TableStorage;
using ReferralBroker.Ports;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Azure.Tests.ServiceBus;

/// <summary>
/// The receiving port on the real SDK against the fake namespace, with the whole broker behind it (Table Storage
/// on Azurite, SendGrid stub): what a drain settles, when, and what the partner receives.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ServiceBusDispatchInboxTests(AzuriteFixture azurite)
{
    private static readonly string Health = FakeServiceBus.SubscriptionPath("health");

    [Fact]
    public async Task A_drain_completes_the_message_once_the_partner_is_emailed()
    {
        using var broker = new AzureBroker(azurite);
        var submitted = await broker.App.SubmitAsync();

        var report = await Inbox(broker).DrainAsync("health", CancellationToken.None);

        Assert.Equal(new DrainReport(1, 1, 0, 0), report);
        Assert.Equal(submitted.ReferralId, AzureBroker.LinkInMail(Assert.Single(broker.AcceptedMails)).ReferralId);
        Assert.Empty((await broker.ServiceBus.EntityAsync(Health)).All);
        Assert.Equal("delivered", (await broker.App.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
        Assert.Equal(DrainReport.Empty, await Inbox(broker).DrainAsync("legal", CancellationToken.None));
    }

    [Fact]
    public async Task A_mail_failure_abandons_the_message_which_is_redelivered_and_then_sent_once()
    {
        using var broker = new AzureBroker(azurite);
        var submitted = await broker.App.SubmitAsync();
        broker.FailSendGrid(times: 10);

        Assert.Equal(new DrainReport(1, 0, 1, 0), await Inbox(broker).DrainAsync("health", CancellationToken.None));
        var waiting = Assert.Single((await broker.ServiceBus.EntityAsync(Health)).Available);
        Assert.Equal(1, waiting.DeliveryCount);
        Assert.Equal("submitted", (await broker.App.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
        broker.FailSendGrid(times: 0);

        Assert.Equal(new DrainReport(1, 1, 0, 0), await Inbox(broker).DrainAsync("health", CancellationToken.None));
        Assert.Single(broker.AcceptedMails);
        Assert.Equal("delivered", (await broker.App.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_mail_SendGrid_refuses_for_good_is_tried_once_then_completed_and_its_referral_marked_deliveryFailed()
    {
        using var broker = new AzureBroker(azurite);
        // Far more deliveries than the test makes: only the refusal rule can settle the message after one.
        await broker.ServiceBus.ConfigureAsync(maxDeliveryCount: 50);
        var submitted = await broker.App.SubmitAsync();
        broker.RefuseMailsToThePartner(400);

        Assert.Equal(new DrainReport(1, 1, 0, 0), await Inbox(broker).DrainAsync("health", CancellationToken.None));

        Assert.Single(broker.Mails);
        Assert.Empty(broker.AcceptedMails);
        var view = await broker.App.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{submitted.ReferralId}");
        Assert.True(view.GetProperty("deliveryFailed").GetBoolean());
        // Completed, not dead-lettered: no copy of the link secret is left waiting for the sweep.
        Assert.Empty((await broker.ServiceBus.EntityAsync(Health)).All);
        Assert.Empty((await broker.ServiceBus.EntityAsync(FakeServiceBus.DeadLetterPath("health"))).All);
        broker.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(DrainReport.Empty, await Inbox(broker).DrainAsync("health", CancellationToken.None));
        Assert.Single(broker.Mails);
    }

    [Fact]
    public async Task A_mail_SendGrid_refuses_for_a_wrong_key_or_a_forbidden_sender_stays_for_a_retry()
    {
        using var broker = new AzureBroker(azurite);
        var submitted = await broker.App.SubmitAsync();
        broker.RefuseMailsToThePartner(403);

        Assert.Equal(new DrainReport(1, 0, 1, 0), await Inbox(broker).DrainAsync("health", CancellationToken.None));
        var view = await broker.App.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{submitted.ReferralId}");
        Assert.False(view.TryGetProperty("deliveryFailed", out var failed) && failed.GetBoolean(), "A 403 was taken for a refusal for good.");

        // The sender is verified now: the next drain sends it.
        broker.RefuseMailsToThePartner(0);
        Assert.Equal(new DrainReport(1, 1, 0, 0), await Inbox(broker).DrainAsync("health", CancellationToken.None));
        Assert.Single(broker.AcceptedMails);
        Assert.Equal("delivered", (await broker.App.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_drain_tries_a_failing_message_once_so_the_max_delivery_count_spans_drains_then_it_is_dead_lettered_and_purged_after_its_ttl()
    {
        using var broker = new AzureBroker(azurite);
        await broker.ServiceBus.ConfigureAsync(maxDeliveryCount: 3);
        await broker.ServiceBus.SetClockAsync(broker.Time.GetUtcNow());
        var submitted = await broker.App.SubmitAsync();
        broker.FailSendGrid(times: 100);

        for (var drain = 1; drain <= 3; drain++)
        {
            Assert.Equal(new DrainReport(1, 0, 1, 0), await Inbox(broker).DrainAsync("health", CancellationToken.None));
        }

        Assert.Empty((await broker.ServiceBus.EntityAsync(Health)).All);
        var dead = Assert.Single((await broker.ServiceBus.EntityAsync(FakeServiceBus.DeadLetterPath("health"))).All);
        Assert.Equal("MaxDeliveryCountExceeded", dead.Properties["DeadLetterReason"]);

        var purger = broker.App.Services.GetRequiredService<ServiceBusDeadLetterPurger>();
        Assert.Empty(await purger.PurgeExpiredAsync(CancellationToken.None));
        broker.Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        Assert.Equal([submitted.ReferralId], await purger.PurgeExpiredAsync(CancellationToken.None));
        Assert.Empty((await broker.ServiceBus.EntityAsync(FakeServiceBus.DeadLetterPath("health"))).All);
    }

    [Fact]
    public async Task An_unreadable_body_is_dead_lettered_at_once_without_an_email_and_without_logging_it()
    {
        using var broker = new AzureBroker(azurite);
        await broker.ServiceBus.InjectAsync(Health, "garbage-1", Encoding.UTF8.GetBytes("{\"linkSecret\":\"BODY-MARKER\""),
            new Dictionary<string, string> { ["category"] = "health" }, BrokerApp.Start);

        Assert.Equal(new DrainReport(1, 0, 0, 1), await Inbox(broker).DrainAsync("health", CancellationToken.None));

        var dead = Assert.Single((await broker.ServiceBus.EntityAsync(FakeServiceBus.DeadLetterPath("health"))).All);
        Assert.Equal("Unreadable", dead.Properties["DeadLetterReason"]);
        Assert.Empty(broker.Mails);
        Assert.DoesNotContain(broker.App.Logs, l => l.Contains("BODY-MARKER", StringComparison.Ordinal));
        Assert.Contains(broker.App.Logs, l => l.Contains("garbage-1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_drain_handles_at_most_the_configured_number_of_messages()
    {
        using var broker = new AzureBroker(azurite, settings: new Dictionary<string, string?>
        {
            ["Broker:Azure:ServiceBus:MaxMessagesPerDrain"] = "3",
            ["Broker:Azure:ServiceBus:ReceiveBatchSize"] = "2",
        });
        for (var i = 0; i < 5; i++)
        {
            await broker.App.SubmitAsync();
        }

        Assert.Equal(new DrainReport(3, 3, 0, 0), await Inbox(broker).DrainAsync("health", CancellationToken.None));
        Assert.Equal(2, (await broker.ServiceBus.EntityAsync(Health)).Available.Count);
        Assert.Equal(new DrainReport(2, 2, 0, 0), await Inbox(broker).DrainAsync("health", CancellationToken.None));
    }

    [Fact]
    public async Task A_drain_receives_no_new_batch_once_its_time_is_up()
    {
        AzureBroker? created = null;
        // Each email takes 40 s on the broker's clock; the drain may run for a minute.
        using var broker = created = new AzureBroker(azurite, settings: new Dictionary<string, string?>
        {
            ["Broker:Azure:ServiceBus:MaxDrainDuration"] = "00:01:00",
            ["Broker:Azure:ServiceBus:ReceiveBatchSize"] = "1",
        }, fail: _ =>
        {
            created!.Time.Advance(TimeSpan.FromSeconds(40));
            return false;
        });
        for (var i = 0; i < 4; i++)
        {
            await broker.App.SubmitAsync();
        }

        Assert.Equal(new DrainReport(2, 2, 0, 0), await Inbox(broker).DrainAsync("health", CancellationToken.None));
        Assert.Equal(2, (await broker.ServiceBus.EntityAsync(Health)).Available.Count);
    }

    [Fact]
    public async Task A_crash_between_receive_and_complete_redelivers_the_message_and_the_partner_gets_one_email()
    {
        using var broker = new AzureBroker(azurite);
        var submitted = await broker.App.SubmitAsync();
        var bus = broker.App.Services.GetRequiredService<ServiceBusNamespace>();
        var handler = broker.App.Services.GetRequiredService<ServiceBusDispatchHandler>();

        // The process emails the partner, then dies before it settles: its link closes with the lock unsettled.
        var receiver = bus.Client.CreateReceiver(bus.Options.TopicName, "health");
        await using (receiver)
        {
            var message = Assert.Single(await receiver.ReceiveMessagesAsync(10, TimeSpan.FromSeconds(2)));
            Assert.Equal(DispatchDisposition.Complete, await handler.HandleAsync(message, CancellationToken.None));
        }

        Assert.Single(broker.AcceptedMails);
        Assert.Equal(1, Assert.Single((await broker.ServiceBus.EntityAsync(Health)).Available).DeliveryCount);
        Assert.Equal(new DrainReport(1, 1, 0, 0), await Inbox(broker).DrainAsync("health", CancellationToken.None));
        Assert.Single(broker.AcceptedMails);
        Assert.Empty((await broker.ServiceBus.EntityAsync(Health)).All);
        Assert.Equal("delivered", (await broker.App.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_completion_lost_with_its_lock_brings_the_message_back_and_the_status_check_keeps_it_to_one_email()
    {
        using var broker = new AzureBroker(azurite);
        await broker.App.SubmitAsync();
        await broker.ServiceBus.FailNextAsync("complete", 1);

        // The lost lock hands the message straight back, so the same drain meets it again and completes it unsent.
        Assert.Equal(new DrainReport(2, 1, 1, 0), await Inbox(broker).DrainAsync("health", CancellationToken.None));
        Assert.Single(broker.AcceptedMails);
        Assert.Empty((await broker.ServiceBus.EntityAsync(Health)).All);
        Assert.Equal(1, (await broker.ServiceBus.InjectedAsync()).Complete);
    }

    [Fact]
    public async Task Intake_dying_between_send_and_insert_answers_no_201_and_the_retry_with_its_key_ends_delivered_with_a_working_link()
    {
        using var broker = BrokerWhoseFirstIntakeDiesAfterTheSend();
        var organisation = broker.App.Organisation();

        var first = await SubmitWithKeyAsync(organisation, "crash-key");
        Assert.Equal(HttpStatusCode.InternalServerError, first.StatusCode);
        // The message went out without its record: not emailed, left for later.
        Assert.Single((await broker.ServiceBus.EntityAsync(Health)).All);
        Assert.Equal(new DrainReport(1, 0, 1, 0), await Inbox(broker).DrainAsync("health", CancellationToken.None));
        Assert.Empty(broker.Mails);

        var retry = await SubmitWithKeyAsync(organisation, "crash-key");
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        var submitted = (await retry.Content.ReadFromJsonAsync<Submitted>())!;

        // The first attempt's message is superseded (its secret opens nothing); the retry's is emailed.
        Assert.Equal(new DrainReport(2, 2, 0, 0), await Inbox(broker).DrainAsync("health", CancellationToken.None));
        var link = AzureBroker.LinkInMail(Assert.Single(broker.AcceptedMails));
        Assert.Equal(submitted.ReferralId, link.ReferralId);
        var view = await broker.App.Partner(link).GetFromJsonAsync<JsonElement>($"/api/partner/referrals/{link.ReferralId}");
        Assert.Equal("delivered", view.GetProperty("status").GetString());
        Assert.Empty((await broker.ServiceBus.EntityAsync(Health)).All);
    }

    [Fact]
    public async Task The_message_of_a_submission_that_died_before_its_insert_is_dropped_after_the_grace_period_without_an_email()
    {
        using var broker = BrokerWhoseFirstIntakeDiesAfterTheSend();
        Assert.Equal(HttpStatusCode.InternalServerError, (await SubmitWithKeyAsync(broker.App.Organisation(), "never-retried")).StatusCode);

        Assert.Equal(new DrainReport(1, 0, 1, 0), await Inbox(broker).DrainAsync("health", CancellationToken.None));
        broker.Time.Advance(TimeSpan.FromMinutes(14));
        Assert.Equal(new DrainReport(1, 0, 1, 0), await Inbox(broker).DrainAsync("health", CancellationToken.None));
        broker.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(new DrainReport(1, 1, 0, 0), await Inbox(broker).DrainAsync("health", CancellationToken.None));

        Assert.Empty((await broker.ServiceBus.EntityAsync(Health)).All);
        Assert.Empty(broker.Mails);
    }

    [Fact]
    public async Task Idempotent_retries_of_a_stored_referral_send_one_message()
    {
        using var broker = new AzureBroker(azurite);
        var first = await (await SubmitWithKeyAsync(broker.App.Organisation(), "azure-retry")).Content.ReadFromJsonAsync<Submitted>();
        var second = await (await SubmitWithKeyAsync(broker.App.Organisation(), "azure-retry")).Content.ReadFromJsonAsync<Submitted>();

        Assert.Equal(first, second);
        Assert.Single(await broker.ServiceBus.ReceivedAsync());
    }

    private AzureBroker BrokerWhoseFirstIntakeDiesAfterTheSend()
    {
        var crashes = 1;
        return new AzureBroker(azurite, services: _ => services => services.AddSingleton<IReferralQueue>(sp =>
            new CrashAfterSend(new ServiceBusReferralQueue(sp.GetRequiredService<ServiceBusNamespace>(), sp.GetRequiredService<ILogger<ServiceBusReferralQueue>>()),
                () => Interlocked.Decrement(ref crashes) >= 0)));
    }

    private static IDispatchInbox Inbox(AzureBroker broker) => broker.App.Services.GetRequiredService<IDispatchInbox>();

    private static async Task<HttpResponseMessage> SubmitWithKeyAsync(HttpClient organisation, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals") { Content = JsonContent.Create(BrokerApp.Referral("same")) };
        request.Headers.Add("Idempotency-Key", key);
        return await organisation.SendAsync(request);
    }
}

/// <summary>The process dying right after the dispatch message went out, before the record is inserted.</summary>
internal sealed class CrashAfterSend(IReferralQueue inner, Func<bool> crash) : IReferralQueue
{
    public async Task EnqueueAsync(DispatchMessage message, CancellationToken cancellationToken)
    {
        await inner.EnqueueAsync(message, cancellationToken);
        if (crash())
        {
            throw new IOException("Injected crash after the Service Bus send, before the table insert.");
        }
    }
}
