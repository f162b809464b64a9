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
public sealed class AzureHostingTests(AzuriteFixture azurite) : IDisposable
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

        // The health dispatch timer drains it; SendGrid gets one mail, without client data, and the message is completed.
        await _broker.RunDispatchTimerAsync("health");
        var mail = Assert.Single(_broker.Mails);
        Assert.DoesNotContain(marker, mail.BodyText, StringComparison.Ordinal);
        var json = JsonDocument.Parse(mail.Body).RootElement;
        Assert.False(json.GetProperty("tracking_settings").GetProperty("click_tracking").GetProperty("enable").GetBoolean());
        Assert.Equal(0, (await _broker.DrainAllAsync()).Received);

        // The next minute's timer finds nothing left: no second mail.
        await _broker.RunDispatchTimerAsync("health");
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
        await _broker.SweepAsync();
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
    public async Task A_caseworkers_personal_key_works_through_the_Azure_adapters_its_last_use_is_kept_and_only_its_hash_is_in_the_tables()
    {
        var coordinator = Coordinator.Client(_broker.App);
        var issued = await (await coordinator.PostAsJsonAsync("/api/admin/staff", new { name = "Mai", role = "caseworker", organisationId = "demo-org" }))
            .Content.ReadFromJsonAsync<JsonElement>();
        var key = issued.GetProperty("key").GetString()!;
        var staffId = issued.GetProperty("staffId").GetString()!;

        var caseworker = _broker.App.Organisation(key);
        await _broker.App.SubmitAsync(organisation: caseworker);
        var me = await caseworker.GetFromJsonAsync<JsonElement>("/api/me");
        Assert.Equal("caseworker", me.GetProperty("kind").GetString());

        // Written off the request's path: read until it is there, within a deadline.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        JsonElement listed;
        do
        {
            listed = (await coordinator.GetFromJsonAsync<JsonElement>("/api/admin/staff", deadline.Token)).EnumerateArray().Single();
        }
        while (listed.GetProperty("lastUsedAt").ValueKind == JsonValueKind.Null && await Pause(deadline.Token));
        Assert.Equal(new DateTimeOffset(BrokerApp.Start.Date, TimeSpan.Zero), listed.GetProperty("lastUsedAt").GetDateTimeOffset());

        var stored = string.Join('\n', (await azurite.DumpAllTablesAsync()).Where(t => t.Table.StartsWith(_broker.TablePrefix, StringComparison.Ordinal)).Select(t => t.Json));
        Assert.Contains(ReferralBroker.Referrals.ApiKeys.Hash(key), stored, StringComparison.Ordinal);
        Assert.DoesNotContain(key, stored, StringComparison.Ordinal);
        Assert.DoesNotContain(_broker.App.Logs, line => line.Contains(key, StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.NoContent, (await coordinator.DeleteAsync($"/api/admin/staff/{staffId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await caseworker.GetAsync("/api/referrals")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _broker.App.Organisation().GetAsync("/api/referrals")).StatusCode);
    }

    /// <summary>A short wait between reads of a condition; false once the deadline has passed (the assertion then fails).</summary>
    private static async Task<bool> Pause(CancellationToken deadline)
    {
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), deadline);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [Fact]
    public async Task The_timer_sweep_expires_referrals_and_marks_dead_lettered_ones_for_re_sending()
    {
        var expiring = await _broker.App.SubmitAsync(BrokerApp.Referral(expiresAt: "2026-11-25T00:00:00Z"));
        var lost = await _broker.App.SubmitAsync();
        await _broker.ServiceBus.InjectAsync(FakeServiceBus.DeadLetterPath("health"), lost.ReferralId + ".dead", Assert.Single(await _broker.SentMessagesAsync(), b => b.Length > 0 && System.Text.Encoding.UTF8.GetString(b).Contains(lost.ReferralId, StringComparison.Ordinal)),
            new Dictionary<string, string> { ["referralId"] = lost.ReferralId, ["category"] = "health" }, BrokerApp.Start);
        _broker.Time.Advance(TimeSpan.FromDays(2));

        Assert.Contains("1 expired", await _broker.SweepAsync(), StringComparison.Ordinal);

        var organisation = _broker.App.Organisation();
        Assert.Equal("expired", (await organisation.GetFromJsonAsync<JsonElement>($"/api/referrals/{expiring.ReferralId}")).GetProperty("status").GetString());
        var lostView = await organisation.GetFromJsonAsync<JsonElement>($"/api/referrals/{lost.ReferralId}");
        Assert.True(lostView.GetProperty("deliveryFailed").GetBoolean());
        Assert.Empty((await _broker.ServiceBus.EntityAsync(FakeServiceBus.DeadLetterPath("health"))).All);
        var lostStatus = await _broker.App.StatusAsync(lost.StatusToken);
        Assert.DoesNotContain(lostStatus.GetProperty("held").EnumerateArray(),
            h => h.GetProperty("what").GetString()!.Contains("details", StringComparison.Ordinal));
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
            [BrokerApp.HostingSetting] = BrokerApp.AzureHosting,
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
            [BrokerApp.HostingSetting] = BrokerApp.AzureHosting,
            ["Broker:Pepper"] = Convert.ToBase64String(new byte[32]),
            ["Broker:Azure:Tables:Endpoint"] = "https://account.table.core.windows.net/",
            ["Broker:Azure:ServiceBus:FullyQualifiedNamespace"] = "broker.servicebus.windows.net",
        });
        var failure = Assert.ThrowsAny<Exception>(() => app.Server);
        Assert.Contains(AzureSettings.SendGridApiKey, failure.ToString(), StringComparison.Ordinal);
    }
}
