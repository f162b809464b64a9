using System.Net;
using ReferralBroker.Azure.Tests.TableStorage;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Azure.Tests.Hosting;

/// <summary>In Azure, notifications wait in the Table Storage record and go out with the Sweep timer function.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class NotificationHostingTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Status_changes_are_emailed_and_posted_signed_by_the_sweep_timer_with_retries_kept_in_the_table()
    {
        AzureBroker? broker = null;
        await using var receiver = await WebhookReceiver.StartAsync(() => broker!.Time.GetUtcNow());
        using var created = broker = new AzureBroker(azurite, receiver.Url);
        var submitted = await broker.App.SubmitAsync(BrokerApp.Referral("AZNOTIFY"));
        Assert.Equal(1, (await broker.DrainAllAsync()).Completed);
        var link = AzureBroker.LinkInMail(Assert.Single(broker.Mails));
        Assert.Equal(HttpStatusCode.OK, (await broker.App.Partner(link).PostAsync($"/api/partner/referrals/{link.ReferralId}/accept", null)).StatusCode);

        receiver.FailNext(2);
        await broker.SweepAsync();
        Assert.Empty(receiver.Events);
        var organisationMails = broker.Mails.Where(m => m.BodyText.Contains(AzureBroker.NotificationEmail, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, organisationMails.Count);
        Assert.All(organisationMails, m =>
        {
            Assert.Contains(submitted.ReferralId, m.BodyText, StringComparison.Ordinal);
            Assert.DoesNotContain("AZNOTIFY", m.BodyText, StringComparison.Ordinal);
            Assert.DoesNotContain("health", m.BodyText, StringComparison.Ordinal);
        });

        // The failed webhook attempts are remembered in the record; the next tick after the back-off retries them.
        broker.Time.Advance(TimeSpan.FromMinutes(5));
        await broker.SweepAsync();
        Assert.Equal(["accepted", "delivered"], receiver.Statuses.Order(StringComparer.Ordinal));
        Assert.Empty(receiver.Refused);
        Assert.Equal(2, broker.Mails.Count(m => m.BodyText.Contains(AzureBroker.NotificationEmail, StringComparison.Ordinal)));

        broker.Time.Advance(TimeSpan.FromHours(1));
        await broker.SweepAsync();
        Assert.Equal(2, receiver.Events.Count);
    }
}
