using System.Net;
using System.Net.Http.Json;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.ApplicationInsights;
using Microsoft.ApplicationInsights.Channel;
using Microsoft.ApplicationInsights.DataContracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ReferralBroker.Embedded;
using ReferralBroker.Referrals;
using ReferralBroker.Tests.Integration;
using AppInsightsJson = Microsoft.ApplicationInsights.Extensibility.Implementation.JsonSerializer;

namespace ReferralBroker.Tests.Functions;

/// <summary>What the worker would send to Application Insights, captured in process at its channel.</summary>
public sealed class TelemetryTests
{
    [Fact]
    public async Task The_worker_sends_no_client_address_token_capability_link_secret_or_client_field_to_Application_Insights()
    {
        var channel = new CapturingChannel();
        var data = Directory.CreateTempSubdirectory("telemetry-worker-");
        var address = IPAddress.Parse("198.51.100.23");
        try
        {
            using var worker = new WorkerHarness(WorkerHarness.WithUnusedAzureSettings(new Dictionary<string, string?>
            {
                ["Broker:DataPath"] = data.FullName,
                ["Broker:PublicBaseUrl"] = "https://broker.test",
                ["Broker:Pepper"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
                ["Broker:Demo:OrgApiKey"] = BrokerApp.OrgKey,
                ["Broker:Demo:Enabled"] = "true",
                ["Broker:Queue:RunDispatcher"] = "false",
                ["Broker:Queue:RunSweep"] = "false",
                ["Broker:Queue:RunNotifications"] = "false",
                // Any key will do: the capturing channel is the only way out.
                ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = "InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=http://127.0.0.1:9/",
            }), new FakeTimeProvider(BrokerApp.Start), services => services.AddSingleton<ITelemetryChannel>(channel));

            var submit = new HttpRequestMessage(HttpMethod.Post, "/api/referrals") { Content = JsonContent.Create(BrokerApp.Referral("TELEMETRYMARK")) };
            submit.Headers.Authorization = new AuthenticationHeaderValue("Bearer", BrokerApp.OrgKey);
            var submitted = (await (await worker.SendAsync(submit, address)).Content.ReadFromJsonAsync<Submitted>())!;
            await worker.Services.GetRequiredService<EmbeddedDispatchPump>().DrainAsync(CancellationToken.None);
            var mail = worker.Services.GetRequiredService<MailMode>().DevelopmentMailbox!.Messages().Single().Text;
            var link = BrokerApp.LinkIn(mail);

            var partner = new HttpRequestMessage(HttpMethod.Post, $"/api/partner/referrals/{link.ReferralId}/accept");
            partner.Headers.Add("X-Referral-Capability", link.Capability);
            Assert.Equal(HttpStatusCode.OK, (await worker.SendAsync(partner, address)).StatusCode);
            var status = new HttpRequestMessage(HttpMethod.Post, "/api/status") { Content = JsonContent.Create(new { token = submitted.StatusToken }) };
            Assert.Equal(HttpStatusCode.OK, (await worker.SendAsync(status, address)).StatusCode);
            var flag = new HttpRequestMessage(HttpMethod.Post, "/api/partners/demo-health/flags") { Content = JsonContent.Create(new { reason = "other-confidentiality-breach" }) };
            flag.Headers.Authorization = new AuthenticationHeaderValue("Bearer", BrokerApp.OrgKey);
            Assert.Equal(HttpStatusCode.OK, (await worker.SendAsync(flag, address)).StatusCode);

            // What the host and the SDK's collectors record for such a call, with the worst they could be handed.
            var telemetry = worker.Services.GetRequiredService<TelemetryClient>();
            var request = new RequestTelemetry("CheckStatus", BrokerApp.Start, TimeSpan.FromMilliseconds(5), "200", true)
            {
                Url = new Uri($"https://broker.test/api/status?token={submitted.StatusToken}"),
            };
            request.Context.Location.Ip = address.ToString();
            request.Properties["X-Referral-Capability"] = link.Capability;
            telemetry.TrackRequest(request);
            telemetry.TrackDependency(new DependencyTelemetry("HTTP", "hooks.example.org", "POST /hook", $"https://hooks.example.org/hook?secret={link.Secret}"));
            telemetry.Flush();

            var items = channel.Items;
            Assert.Contains(items, i => i is TraceTelemetry t && t.Message.Contains("flagged", StringComparison.Ordinal));
            Assert.All(items, i => Assert.Equal("0.0.0.0", i.Context.Location.Ip));
            var sent = Encoding.UTF8.GetString(AppInsightsJson.Serialize(items, compress: false));
            foreach (var secret in new[] { address.ToString(), submitted.StatusToken, link.Capability, link.Secret, "TELEMETRYMARK", BrokerApp.OrgKey })
            {
                Assert.DoesNotContain(secret, sent, StringComparison.Ordinal);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            data.Delete(recursive: true);
        }
    }

    private sealed class CapturingChannel : ITelemetryChannel
    {
        private readonly List<ITelemetry> _items = [];

        public bool? DeveloperMode { get; set; }

        public string? EndpointAddress { get; set; }

        public IReadOnlyList<ITelemetry> Items
        {
            get
            {
                lock (_items)
                {
                    return [.. _items];
                }
            }
        }

        public void Send(ITelemetry item)
        {
            lock (_items)
            {
                _items.Add(item);
            }
        }

        public void Flush()
        {
        }

        public void Dispose()
        {
        }
    }
}
