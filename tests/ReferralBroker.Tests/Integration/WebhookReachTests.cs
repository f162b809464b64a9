using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ReferralBroker.Notifications;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;

namespace ReferralBroker.Tests.Integration;

/// <summary>
/// Webhooks cannot reach inside: refused when the URL is configured, and refused again when the webhook client
/// connects, on the addresses the name resolves to (so a DNS answer cannot get round the first check).
/// </summary>
public sealed class WebhookReachTests
{
    /// <summary>A public-looking name, passing the save-time check, that the test's DNS answers with loopback (rebinding).</summary>
    private const string RebindingHost = "hooks.rebinding.example";

    [Theory]
    [InlineData("https://169.254.169.254/latest/meta-data/")]
    [InlineData("https://10.0.0.5/hook")]
    [InlineData("https://[::ffff:127.0.0.1]/hook")]
    [InlineData("https://localhost/hook")]
    [InlineData("https://0x7f.1/hook")]
    public void A_configured_webhook_to_an_internal_host_stops_the_start_naming_the_setting(string url)
    {
        var failure = Coordinator.StartupFailure(new Dictionary<string, string?>
        {
            ["Broker:Organisations:1:Id"] = "inside-org",
            ["Broker:Organisations:1:Name"] = "Inside",
            ["Broker:Organisations:1:ApiKeySha256"] = ApiKeys.Hash("inside-org-key-0123456789"),
            ["Broker:Organisations:1:WebhookUrl"] = url,
            ["Broker:Organisations:1:WebhookSecret"] = WebhookReceiver.Secret,
        });
        Assert.Contains("Broker:Organisations entry 'inside-org'", failure.Message, StringComparison.Ordinal);
        Assert.Contains("WebhookUrl", failure.Message, StringComparison.Ordinal);
        Assert.Contains("public host", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(WebhookReceiver.Secret, failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_configured_webhook_to_port_0_stops_the_start_naming_the_setting()
    {
        var failure = Coordinator.StartupFailure(new Dictionary<string, string?>
        {
            ["Broker:Organisations:1:Id"] = "portless-org",
            ["Broker:Organisations:1:Name"] = "Portless",
            ["Broker:Organisations:1:ApiKeySha256"] = ApiKeys.Hash("portless-org-key-0123456789"),
            ["Broker:Organisations:1:WebhookUrl"] = "https://hooks.example.org:0/x",
            ["Broker:Organisations:1:WebhookSecret"] = WebhookReceiver.Secret,
        });
        Assert.Contains("Broker:Organisations entry 'portless-org'", failure.Message, StringComparison.Ordinal);
        Assert.Contains("WebhookUrl", failure.Message, StringComparison.Ordinal);
        Assert.Contains("port", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_webhook_client_refuses_a_name_that_resolves_to_loopback_unless_the_development_exception_is_on()
    {
        // The brokers' clock (each BrokerApp starts its fake time at BrokerApp.Start): the sender signs with it.
        await using var receiver = await WebhookReceiver.StartAsync(() => BrokerApp.Start);
        // "localhost" resolves to loopback on any machine, from the hosts file: no network needed.
        var url = new UriBuilder(receiver.Url) { Host = "localhost" }.Uri;

        using (var app = new BrokerApp(settings: new Dictionary<string, string?> { ["Broker:Notifications:AllowLoopbackHttpWebhooks"] = "false" }))
        {
            var failure = await Assert.ThrowsAsync<TransientDeliveryException>(() => SendAsync(app, url));
            Assert.True(failure.Unreachable);
            Assert.Contains("internal address", failure.Message, StringComparison.Ordinal);
            Assert.Empty(receiver.Attempts);
            Assert.Empty(receiver.Refused);
        }

        // The same client with the development exception: the request goes through, so the refusal above was the check.
        using (var app = new BrokerApp(settings: new Dictionary<string, string?> { ["Broker:Notifications:AllowLoopbackHttpWebhooks"] = "true" }))
        {
            await SendAsync(app, url);
            Assert.Single(receiver.Events);
        }
    }

    [Fact]
    public async Task A_dns_answer_pointing_inside_is_refused_at_connect_time_and_the_notification_is_retried_as_a_transient_failure()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var app = NewApp(port, allowLoopback: false);
        var submitted = await app.SubmitAsync(organisation: app.Organisation(NotificationTests.NotifiedOrgKey));
        await app.DispatchAsync();

        Assert.Equal(1, await app.NotifyAsync());

        Assert.False(listener.Pending(), "The broker connected to an internal address.");
        var store = app.Services.GetRequiredService<IReferralStore>();
        var pending = Assert.Single((await store.FindAsync(submitted.ReferralId, CancellationToken.None))!.Value.Notifications);
        Assert.True(pending.EmailSent);
        Assert.False(pending.WebhookSent);
        Assert.Equal(1, pending.Attempts);
        var logged = Assert.Single(app.Logs, l => l.Contains("Webhook of organisation notified-org", StringComparison.Ordinal));
        Assert.Contains("internal address", logged, StringComparison.Ordinal);
        // The organisation id and a reason: never the host, the URL, the address or the secret.
        Assert.DoesNotContain(app.Logs, l => l.Contains(RebindingHost, StringComparison.Ordinal)
            || l.Contains($":{port}", StringComparison.Ordinal) || l.Contains("127.0.0.1", StringComparison.Ordinal)
            || l.Contains(WebhookReceiver.Secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_name_answering_a_public_and_an_internal_address_is_refused_and_the_development_exception_lets_loopback_through()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        // Loopback first: a connector that vetted addresses one by one, or only refused a name whose every address is
        // internal, would connect to it at once (with the public address first it would spend its timeout on that
        // one, and the test would pass without checking the rule). Only "any internal answer refuses all" stops it.
        IPAddress[] answer = [IPAddress.Loopback, IPAddress.Parse("8.8.8.8")];
        using (var app = NewApp(port, allowLoopback: false, answer: answer))
        {
            await app.SubmitAsync(organisation: app.Organisation(NotificationTests.NotifiedOrgKey));
            await app.DispatchAsync();
            await app.NotifyAsync();
            Assert.False(listener.Pending(), "The broker connected to an internal address.");
        }

        // Control: the same DNS answer with the development exception reaches the listener, so the test can fail.
        using (var app = NewApp(port, allowLoopback: true, answer: answer))
        {
            await app.SubmitAsync(organisation: app.Organisation(NotificationTests.NotifiedOrgKey));
            await app.DispatchAsync();
            var notified = app.NotifyAsync();
            using var accepted = await listener.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(20));
            accepted.Close();
            await notified;
        }
    }

    /// <summary>The notified organisation's webhook is https://hooks.rebinding.example:port/hook, which "DNS" answers with <paramref name="answer"/>.</summary>
    private static BrokerApp NewApp(int port, bool allowLoopback, IPAddress[]? answer = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Broker:Organisations:1:Id"] = "notified-org",
            ["Broker:Organisations:1:Name"] = "Notified organisation",
            ["Broker:Organisations:1:ApiKeySha256"] = ApiKeys.Hash(NotificationTests.NotifiedOrgKey),
            ["Broker:Organisations:1:NotificationEmail"] = NotificationTests.NotificationEmail,
            ["Broker:Organisations:1:WebhookUrl"] = $"https://{RebindingHost}:{port}/hook",
            ["Broker:Organisations:1:WebhookSecret"] = WebhookReceiver.Secret,
            ["Broker:Notifications:AllowLoopbackHttpWebhooks"] = allowLoopback ? "true" : "false",
        };
        return new BrokerApp(settings: settings, services: s => s.AddSingleton<ResolveHost>(
            (host, _) => Task.FromResult(host == RebindingHost ? answer ?? [IPAddress.Loopback] : throw new SocketException((int)SocketError.HostNotFound))));
    }

    private static Task SendAsync(BrokerApp app, Uri url)
    {
        var body = "{\"eventId\":\"ref_x.accepted\"}"u8.ToArray();
        return app.Services.GetRequiredService<IWebhookSender>().SendAsync(
            new WebhookDelivery(url, body, "ref_x.accepted", [WebhookReceiver.Secret]), CancellationToken.None);
    }
}

/// <summary>Azure seeds organisations from Broker:NetworkJson too: the same webhook rule stops that start.</summary>
public sealed class AzureNetworkWebhookTests
{
    [Theory]
    [InlineData("https://169.254.169.254/metadata/instance", false)]
    [InlineData("https://[fd00:ec2::254]/latest", false)]
    [InlineData("https://hooks.example.org/referrals", true)]
    public void An_organisation_in_the_network_document_with_an_internal_webhook_fails_the_azure_settings_naming_it(string url, bool valid)
    {
        var network = $$"""{"organisations":[{"id":"cloud-org","name":"Org","apiKeySha256":"{{ApiKeys.Hash("k")}}","webhookUrl":"{{url}}","webhookSecret":"{{WebhookReceiver.Secret}}"}],"partners":[]}""";
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Broker:NetworkJson"] = network }).Build();
        var result = new ReferralBroker.Azure.AzureSettingsValidator(configuration)
            .Validate(null, new ReferralBroker.Hosting.BrokerOptions { Pepper = Convert.ToBase64String(new byte[32]) });

        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains("Broker__NetworkJson organisation 'cloud-org'", result.FailureMessage, StringComparison.Ordinal);
            Assert.DoesNotContain(WebhookReceiver.Secret, result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("an-old-style-secret-0123456789")]
    [InlineData("whsec_ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo=")]
    public void An_organisation_in_the_network_document_with_a_secret_not_in_the_standard_form_fails_the_azure_settings_naming_it(string secret)
    {
        var network = $$"""{"organisations":[{"id":"cloud-org","name":"Org","apiKeySha256":"{{ApiKeys.Hash("k")}}","webhookUrl":"https://hooks.example.org/referrals","webhookSecret":"{{secret}}"}],"partners":[]}""";
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Broker:NetworkJson"] = network }).Build();
        var result = new ReferralBroker.Azure.AzureSettingsValidator(configuration)
            .Validate(null, new ReferralBroker.Hosting.BrokerOptions { Pepper = Convert.ToBase64String(new byte[32]) });

        Assert.False(result.Succeeded);
        Assert.Contains("Broker__NetworkJson organisation 'cloud-org' has a WebhookSecret that is not in the form: whsec_", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, result.FailureMessage, StringComparison.Ordinal);
    }
}
