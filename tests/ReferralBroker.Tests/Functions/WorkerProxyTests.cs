using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ReferralBroker.Tests.Integration;
using ReferralBroker.Tokens;

namespace ReferralBroker.Tests.Functions;

/// <summary>
/// Who the worker's gate counts. In Azure the worker's ASP.NET Core integration takes the client address from its
/// own Functions host (on loopback, the one proxy it trusts) before the gate runs; the gate itself reads no header.
/// </summary>
public sealed class WorkerProxyTests
{
    private static Dictionary<string, string?> Settings(DirectoryInfo data) => WorkerHarness.WithUnusedAzureSettings(new()
    {
        ["Broker:DataPath"] = data.FullName,
        ["Broker:PublicBaseUrl"] = "https://broker.test",
        ["Broker:Pepper"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        ["Broker:Demo:OrgApiKey"] = BrokerApp.OrgKey,
        ["Broker:Queue:RunDispatcher"] = "false",
        ["Broker:Queue:RunSweep"] = "false",
        ["Broker:Queue:RunNotifications"] = "false",
        ["Broker:RateLimits:StatusPerMinute"] = "1",
    });

    [Fact]
    public async Task The_worker_gate_counts_the_address_the_platform_gives_and_no_X_Forwarded_For_a_caller_sends()
    {
        var data = Directory.CreateTempSubdirectory("worker-proxy-");
        try
        {
            using var worker = new WorkerHarness(Settings(data), new FakeTimeProvider(BrokerApp.Start));
            async Task<HttpStatusCode> LookupAsync(string from, string spoofed)
            {
                var request = new HttpRequestMessage(HttpMethod.Post, "/api/status") { Content = JsonContent.Create(new { token = StatusToken.Generate() }) };
                request.Headers.TryAddWithoutValidation("X-Forwarded-For", spoofed);
                return (await worker.SendAsync(request, IPAddress.Parse(from))).StatusCode;
            }

            Assert.Equal(HttpStatusCode.NotFound, await LookupAsync("203.0.113.1", "198.51.100.1"));
            Assert.Equal(HttpStatusCode.TooManyRequests, await LookupAsync("203.0.113.1", "198.51.100.2"));
            Assert.Equal(HttpStatusCode.NotFound, await LookupAsync("203.0.113.2", "198.51.100.2"));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            data.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("Broker:ForwardedHeaders:KnownProxies:0", "10.0.0.4")]
    [InlineData("Broker:ForwardedHeaders:KnownNetworks:0", "10.0.0.0/24")]
    public void In_Azure_a_trusted_proxy_setting_stops_the_worker_from_starting_rather_than_being_ignored(string setting, string value)
    {
        var data = Directory.CreateTempSubdirectory("worker-proxy-");
        try
        {
            var settings = Settings(data);
            settings[setting] = value;
            var failure = Assert.Throws<OptionsValidationException>(() => new WorkerHarness(settings, new FakeTimeProvider(BrokerApp.Start)).Dispose());
            Assert.Contains("Broker:ForwardedHeaders applies to the embedded host only", failure.Message, StringComparison.Ordinal);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            data.Delete(recursive: true);
        }
    }
}
