using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ReferralBroker.Azure.Tests.ServiceBus;
using ReferralBroker.Azure.Tests.TableStorage;
using ReferralBroker.Sealing;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Azure.Tests.Hosting;

[Collection(AzuriteCollection.Name)]
public sealed class CustomHandlerTests(AzuriteFixture azurite) : IDisposable
{
    private readonly AzureBroker _broker = new(azurite);

    public void Dispose() => _broker.Dispose();

    [Fact]
    public async Task The_full_loop_runs_through_the_Azure_adapters_and_leaves_nothing_identifying_in_any_table()
    {
        var marker = $"AZMARK{Guid.NewGuid():N}";
        var body = BrokerApp.Referral(marker);
        var submitted = await _broker.App.SubmitAsync(body);

        // Intake sent one message to the topic, with the routing properties the subscriptions filter on.
        var send = Assert.Single(await _broker.ServiceBus.ReceivedAsync());
        Assert.Equal("health", send.Properties["category"]);
        Assert.Equal("demo-health", send.Properties["partnerId"]);
        Assert.StartsWith(submitted.ReferralId + ".", send.MessageId, StringComparison.Ordinal);
        var message = send.Body;

        // The host delivers it to the dispatcher function; SendGrid gets one mail, without client data.
        var (status, reply) = await _broker.InvokeAsync("DispatchHealth", AzureBroker.ServiceBusInvocation(message, 1, submitted.ReferralId));
        Assert.Equal(200, status);
        Assert.Contains("completed", reply.GetProperty("Logs")[0].GetString(), StringComparison.Ordinal);
        var mail = Assert.Single(_broker.Mails);
        Assert.DoesNotContain(marker, mail.BodyText, StringComparison.Ordinal);
        var json = JsonDocument.Parse(mail.Body).RootElement;
        Assert.False(json.GetProperty("tracking_settings").GetProperty("click_tracking").GetProperty("enable").GetBoolean());

        // Redelivery (the host lost the completion): no second mail.
        (status, _) = await _broker.InvokeAsync("DispatchHealth", AzureBroker.ServiceBusInvocation(message, 2, submitted.ReferralId));
        Assert.Equal(200, status);
        Assert.Single(_broker.Mails);

        // The partner opens the link, decrypts with S alone and accepts; the client sees it.
        var link = AzureBroker.LinkInMail(mail);
        var partner = _broker.App.Partner(link);
        var view = await partner.GetFromJsonAsync<JsonElement>($"/api/partner/referrals/{link.ReferralId}");
        Assert.Equal("delivered", view.GetProperty("status").GetString());
        var sealedView = view.GetProperty("sealed");
        var opened = ReferralSeal.Open(link.ReferralId,
            new SealedReferral(1, sealedView.GetProperty("nonce").GetString()!, sealedView.GetProperty("ciphertext").GetString()!), link.SecretBytes);
        Assert.Equal(body.GetProperty("client").GetRawText(), Encoding.UTF8.GetString(opened));
        Assert.Equal(HttpStatusCode.OK, (await partner.PostAsync($"/api/partner/referrals/{link.ReferralId}/accept", null)).StatusCode);
        Assert.Equal("accepted", (await _broker.App.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());

        // The timer's sweep runs too. Then: seize every table.
        (status, _) = await _broker.InvokeAsync("Sweep", AzureBroker.TimerInvocation());
        Assert.Equal(200, status);
        var tables = await azurite.DumpAllTablesAsync();
        var ours = tables.Where(t => t.Table.StartsWith(_broker.TablePrefix, StringComparison.Ordinal)).ToList();
        Assert.Contains(ours, t => t.Json.Contains(submitted.ReferralId, StringComparison.Ordinal));
        var everything = string.Join('\n', ours.Select(t => t.Json)) + string.Join('\n', _broker.App.Logs);
        foreach (var secret in new[] { marker, submitted.StatusToken, submitted.StatusToken.Replace("-", "", StringComparison.Ordinal), link.Secret, link.Capability })
        {
            Assert.DoesNotContain(secret, everything, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_partner_the_coordinator_adds_in_a_new_category_is_kept_in_Table_Storage_and_reached_through_the_other_categories_function()
    {
        var created = await Coordinator.PutPartnerAsync(_broker.App, Coordinator.Service("shelter", categories: ["housing"]));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var submitted = await _broker.App.SubmitAsync(BrokerApp.Referral(partnerId: "shelter", category: "housing"));

        var send = Assert.Single(await _broker.ServiceBus.ReceivedAsync());
        Assert.Equal("housing", send.Properties["category"]);
        Assert.Single((await _broker.ServiceBus.EntityAsync(FakeServiceBus.SubscriptionPath("other"))).All);
        Assert.Equal(1, (await _broker.DrainAllAsync()).Completed);
        Assert.Contains("intake@shelter.example.org", Assert.Single(_broker.Mails).BodyText, StringComparison.Ordinal);

        var flagged = await _broker.App.Organisation().PostAsJsonAsync("/api/partners/shelter/flags", new { reason = "exposed-client-identity" });
        Assert.Equal(HttpStatusCode.OK, flagged.StatusCode);
        var directory = (await azurite.DumpAllTablesAsync()).Where(t => t.Table == _broker.TablePrefix + "directory").ToList();
        Assert.Contains(directory, t => t.Json.Contains("\"RowKey\":\"shelter\"", StringComparison.Ordinal));
        Assert.Contains(directory, t => t.Json.Contains("\"PartitionKey\":\"flag.shelter\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_SendGrid_outage_makes_the_handler_fail_so_the_host_redelivers()
    {
        var submitted = await _broker.App.SubmitAsync();
        var message = Assert.Single(await _broker.SentMessagesAsync());
        _broker.FailSendGrid(times: 10);

        var (status, _) = await _broker.InvokeAsync("DispatchHealth", AzureBroker.ServiceBusInvocation(message, 1, submitted.ReferralId));
        Assert.Equal(500, status);
        Assert.Equal("submitted", (await _broker.App.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());

        _broker.FailSendGrid(times: 0);
        (status, _) = await _broker.InvokeAsync("DispatchHealth", AzureBroker.ServiceBusInvocation(message, 2, submitted.ReferralId));
        Assert.Equal(200, status);
        Assert.Equal("delivered", (await _broker.App.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("""{"Data":{"message":"bm90IGpzb24="},"Metadata":{}}""")]
    [InlineData("""{"Data":{},"Metadata":{"DeliveryCount":"1"}}""")]
    [InlineData("""[1,2,3]""")]
    public async Task An_unreadable_invocation_is_refused_so_it_ends_in_the_dead_letter_queue(string payload)
    {
        using var client = _broker.App.CreateClient();
        var response = await client.PostAsync("/DispatchLegal", new StringContent(payload, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Empty(_broker.Mails);
    }

    [Fact]
    public async Task The_timer_sweep_expires_referrals_and_marks_dead_lettered_ones_for_re_sending()
    {
        var expiring = await _broker.App.SubmitAsync(BrokerApp.Referral(expiresAt: "2026-11-25T00:00:00Z"));
        var lost = await _broker.App.SubmitAsync();
        await _broker.ServiceBus.InjectAsync(FakeServiceBus.DeadLetterPath("health"), lost.ReferralId + ".dead", Assert.Single(await _broker.SentMessagesAsync(), b => b.Length > 0 && System.Text.Encoding.UTF8.GetString(b).Contains(lost.ReferralId, StringComparison.Ordinal)),
            new Dictionary<string, string> { ["referralId"] = lost.ReferralId, ["category"] = "health" }, BrokerApp.Start);
        _broker.Time.Advance(TimeSpan.FromDays(2));

        var (status, reply) = await _broker.InvokeAsync("Sweep", AzureBroker.TimerInvocation());
        Assert.Equal(200, status);
        Assert.Contains("1 expired", reply.GetProperty("Logs")[0].GetString(), StringComparison.Ordinal);

        var organisation = _broker.App.Organisation();
        Assert.Equal("expired", (await organisation.GetFromJsonAsync<JsonElement>($"/api/referrals/{expiring.ReferralId}")).GetProperty("status").GetString());
        var lostView = await organisation.GetFromJsonAsync<JsonElement>($"/api/referrals/{lost.ReferralId}");
        Assert.True(lostView.GetProperty("deliveryFailed").GetBoolean());
        Assert.Empty((await _broker.ServiceBus.EntityAsync(FakeServiceBus.DeadLetterPath("health"))).All);
        var lostStatus = await _broker.App.StatusAsync(lost.StatusToken);
        Assert.DoesNotContain(lostStatus.GetProperty("held").EnumerateArray(),
            h => h.GetProperty("what").GetString()!.Contains("details", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_handler_answers_the_hosts_readiness_probe_at_the_root()
    {
        using var client = _broker.App.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/")).StatusCode);
    }
}

public sealed class EmbeddedHostingTests
{
    [Theory]
    [InlineData("/DispatchHealth")]
    [InlineData("/Sweep")]
    public async Task Trigger_endpoints_do_not_exist_on_the_embedded_default(string path)
    {
        using var app = new BrokerApp();
        using var client = app.CreateClient();
        var response = await client.PostAsync(path, new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}

public sealed class AzureStartupTests
{
    [Fact]
    public void An_unresolved_Key_Vault_reference_stops_the_broker_at_start_naming_the_setting()
    {
        using var app = new BrokerApp(settings: new Dictionary<string, string?>
        {
            ["Broker:Hosting"] = "Azure",
            ["Broker:Pepper"] = "@Microsoft.KeyVault(SecretUri=https://vault.example/secrets/broker-pepper/)",
            ["Broker:Azure:Tables:Endpoint"] = "https://account.table.core.windows.net/",
            ["Broker:Azure:ServiceBus:FullyQualifiedNamespace"] = "broker.servicebus.windows.net",
            ["Broker:Azure:SendGrid:ApiKey"] = "SG.key",
            ["Broker:Azure:SendGrid:FromEmail"] = "referrals@broker.test",
        });
        var failure = Assert.ThrowsAny<Exception>(() => app.Server);
        Assert.Contains(AzureSettings.Pepper, failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_SendGrid_settings_stop_the_broker_at_start()
    {
        using var app = new BrokerApp(settings: new Dictionary<string, string?>
        {
            ["Broker:Hosting"] = "Azure",
            ["Broker:Pepper"] = Convert.ToBase64String(new byte[32]),
            ["Broker:Azure:Tables:Endpoint"] = "https://account.table.core.windows.net/",
            ["Broker:Azure:ServiceBus:FullyQualifiedNamespace"] = "broker.servicebus.windows.net",
        });
        var failure = Assert.ThrowsAny<Exception>(() => app.Server);
        Assert.Contains(AzureSettings.SendGridApiKey, failure.ToString(), StringComparison.Ordinal);
    }
}
