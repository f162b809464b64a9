using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ReferralBroker.Gate;
using ReferralBroker.Hosting;
using ReferralBroker.Tests.Integration;
using ReferralBroker.Tokens;

namespace ReferralBroker.Tests.Gate;

/// <summary>
/// The gate as a real client meets it: the embedded broker on Kestrel at 127.0.0.1, called from many distinct
/// source addresses of 127.0.0.0/8 (each client's socket is bound to its own address before it connects), so the
/// address the limits count is the socket's, as on the internet. The guessing budget runs on the fake clock.
/// </summary>
public sealed class LoopbackCallersTests
{
    private static BrokerApp App(Dictionary<string, string?> settings, Action<IServiceCollection>? services = null) =>
        new(realServer: true, settings: settings, services: services);

    [Fact]
    public async Task Once_many_addresses_spend_both_budgets_even_never_seen_addresses_wait_and_the_next_minute_opens_again()
    {
        using var app = App(new() { ["Broker:RateLimits:StatusPerMinute"] = "100", ["Broker:RateLimits:GlobalMissesPerMinute"] = "3" });
        var token = await SubmitAsync(app);

        // Three addresses spend the budget; one of them then waits.
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(app, $"127.0.7.{i}", StatusToken.Generate()));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await StatusAsync(app, "127.0.7.1", token));
        // A fresh address with the real token gets through; fresh guessers get one miss each from the second budget.
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(app, "127.0.7.4", token));
        for (var i = 5; i <= 7; i++)
        {
            Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(app, $"127.0.7.{i}", StatusToken.Generate()));
        }

        // Both spent: addresses never seen before wait too, guessers and the client alike, until the minute ends.
        using (var fresh = Client(app, "127.0.7.8"))
        {
            var refused = await fresh.PostAsJsonAsync("/api/status", new { token = StatusToken.Generate() });
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.InRange(int.Parse(refused.Headers.RetryAfter!.ToString(), CultureInfo.InvariantCulture), 1, 60);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await StatusAsync(app, "127.0.7.9", token));
        app.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(app, "127.0.7.9", token));
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(app, "127.0.7.1", StatusToken.Generate()));
    }

    [Fact]
    public async Task A_crowd_that_spends_the_clients_budgets_does_not_lock_a_partner_out_and_the_other_way_round()
    {
        using var app = App(new() { ["Broker:RateLimits:StatusPerMinute"] = "100", ["Broker:RateLimits:PartnerPerMinute"] = "100",
            ["Broker:RateLimits:GlobalMissesPerMinute"] = "2" });
        var (referral, link) = await app.SubmitAndDispatchAsync();

        // Both of the clients' budgets spent by fresh guessers: every status lookup waits for the minute's end.
        for (var i = 1; i <= 4; i++)
        {
            Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(app, $"127.0.5.{i}", StatusToken.Generate()));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await StatusAsync(app, "127.0.5.9", referral.StatusToken));
        // The partner's lookups have a budget of their own: the real link from a fresh address still opens.
        Assert.Equal(HttpStatusCode.OK, await PartnerAsync(app, "127.0.5.10", link));

        // And the other way round, in the next minute: capability guessers spend the partners' budgets only.
        app.Time.Advance(TimeSpan.FromMinutes(1));
        for (var i = 11; i <= 14; i++)
        {
            Assert.Equal(HttpStatusCode.NotFound, await PartnerAsync(app, $"127.0.5.{i}", link with { Secret = Base64Url.Encode(new byte[32]) }));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await PartnerAsync(app, "127.0.5.15", link));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(app, "127.0.5.16", referral.StatusToken));
    }

    private static async Task<HttpStatusCode> PartnerAsync(BrokerApp app, string from, PartnerLink link)
    {
        using var client = Client(app, from);
        client.DefaultRequestHeaders.Add("X-Referral-Capability", link.Capability);
        return (await client.GetAsync($"/api/partner/referrals/{link.ReferralId}")).StatusCode;
    }

    [Fact]
    public async Task When_the_remembered_addresses_are_full_a_new_address_is_refused_and_the_remembered_keep_their_place()
    {
        using var app = App(new() { ["Broker:RateLimits:StatusPerMinute"] = "100", ["Broker:RateLimits:GlobalMissesPerMinute"] = "1000" },
            services => services.AddSingleton(sp => new GuessingBudget(
                sp.GetRequiredService<IOptions<BrokerOptions>>(), sp.GetRequiredService<TimeProvider>(), capacity: 3)));
        var token = await SubmitAsync(app);
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(app, $"127.0.6.{i}", StatusToken.Generate()));
        }

        // Far from the budget, but full: a new address gets no unremembered budget, even with the real token.
        Assert.Equal(HttpStatusCode.TooManyRequests, await StatusAsync(app, "127.0.6.4", token));
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(app, "127.0.6.1", StatusToken.Generate()));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(app, "127.0.6.2", token));

        app.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(app, "127.0.6.4", token));
    }

    [Fact]
    public async Task With_no_proxy_configured_spoofed_forwarded_headers_change_neither_the_address_the_limit_counts_nor_the_scheme()
    {
        using var app = App(new() { ["Broker:RateLimits:StatusPerMinute"] = "2" });
        using var client = Client(app, "127.0.5.1");

        var answers = new List<HttpResponseMessage>();
        foreach (var spoofed in new[] { "203.0.113.1", "203.0.113.2", "203.0.113.3" })
        {
            answers.Add(await client.SendAsync(Forwarded(Lookup(), spoofed, "https")));
        }

        // Three different "clients", one socket address: one budget of two.
        Assert.Equal([HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.TooManyRequests], answers.Select(a => a.StatusCode));
        Assert.All(answers, a => Assert.False(a.Headers.Contains("Strict-Transport-Security")));
        // Another socket address is another caller.
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(app, "127.0.5.2", StatusToken.Generate()));
    }

    [Fact]
    public async Task Over_real_TLS_every_answer_carries_HSTS_and_over_plain_http_none_does()
    {
        using var certificate = TestCertificate.SelfSigned();
        using var app = new BrokerApp(realServer: true, https: certificate);
        Assert.Equal("https", app.ServerAddress.Scheme);
        using var client = new HttpClient(new SocketsHttpHandler
        {
            // Exactly this certificate, nothing else: the test's own, made above.
            SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString() == certificate.GetCertHashString() },
        })
        { BaseAddress = app.ServerAddress };

        var answers = new[]
        {
            await client.GetAsync("/status"),
            await client.GetAsync("/api/partners"),
            await client.PostAsJsonAsync("/api/status", new { token = StatusToken.Generate() }),
            await client.GetAsync("/no-such-route"),
        };

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.NotFound], answers.Select(a => a.StatusCode));
        Assert.All(answers, a => Assert.Equal(SecurityHeaders.StrictTransportSecurity, string.Join(",", a.Headers.GetValues("Strict-Transport-Security"))));
        using var plain = App([]);
        using var http = Client(plain, "127.0.0.1");
        Assert.False((await http.GetAsync("/api/partners")).Headers.Contains("Strict-Transport-Security"));
    }

    [Fact]
    public async Task With_loopback_as_known_proxy_its_forwarded_client_is_counted_and_its_https_gets_HSTS_but_no_one_elses()
    {
        using var app = App(new()
        {
            ["Broker:RateLimits:StatusPerMinute"] = "2",
            ["Broker:ForwardedHeaders:KnownProxies:0"] = "127.0.0.1",
            ["Broker:ForwardedHeaders:KnownNetworks:0"] = "127.0.4.0/24",
        });
        using var proxy = Client(app, "127.0.0.1");
        async Task<HttpStatusCode> ThroughProxyAsync(string forwardedFor) => (await proxy.SendAsync(Forwarded(Lookup(), forwardedFor, "http"))).StatusCode;

        // Each forwarded client has its own budget; what a client wrote left of the proxy's entry is not believed.
        Assert.Equal(HttpStatusCode.NotFound, await ThroughProxyAsync("203.0.113.1"));
        Assert.Equal(HttpStatusCode.NotFound, await ThroughProxyAsync("198.51.100.9, 203.0.113.1"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await ThroughProxyAsync("198.51.100.10, 203.0.113.1"));
        Assert.Equal(HttpStatusCode.NotFound, await ThroughProxyAsync("203.0.113.2"));
        // A proxy of the known network, likewise.
        using (var networkProxy = Client(app, "127.0.4.9"))
        {
            Assert.Equal(HttpStatusCode.NotFound, (await networkProxy.SendAsync(Forwarded(Lookup(), "203.0.113.3", "http"))).StatusCode);
        }

        // HTTPS as the proxy says it: HSTS; plain http: none.
        var https = await proxy.SendAsync(Forwarded(new HttpRequestMessage(HttpMethod.Get, "/status"), "203.0.113.4", "https"));
        Assert.Equal(SecurityHeaders.StrictTransportSecurity, string.Join(",", https.Headers.GetValues("Strict-Transport-Security")));
        var http = await proxy.SendAsync(Forwarded(new HttpRequestMessage(HttpMethod.Get, "/status"), "203.0.113.4", "http"));
        Assert.False(http.Headers.Contains("Strict-Transport-Security"));

        // Anyone else on loopback is not a proxy: its headers are ignored, its own address is counted.
        using var other = Client(app, "127.0.3.1");
        var answers = new List<HttpResponseMessage>();
        foreach (var spoofed in new[] { "203.0.113.5", "203.0.113.6", "203.0.113.7" })
        {
            answers.Add(await other.SendAsync(Forwarded(Lookup(), spoofed, "https")));
        }

        Assert.Equal([HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.TooManyRequests], answers.Select(a => a.StatusCode));
        Assert.All(answers, a => Assert.False(a.Headers.Contains("Strict-Transport-Security")));
    }

    [Fact]
    public async Task A_real_Kestrel_answer_names_no_server_and_denies_device_features()
    {
        using var app = App([]);
        using var client = Client(app, "127.0.2.1");
        foreach (var path in new[] { "/status", "/api/partners", "/nowhere" })
        {
            var answer = await client.GetAsync(path);
            Assert.False(answer.Headers.Contains("Server"), $"{path}: Server: {answer.Headers.Server}");
            var policy = string.Join(",", answer.Headers.GetValues("Permissions-Policy"));
            Assert.Equal(SecurityHeaders.PermissionsPolicy, policy);
            Assert.All(["camera=()", "microphone=()", "geolocation=()"], denied => Assert.Contains(denied, policy, StringComparison.Ordinal));
            Assert.False(answer.Headers.Contains("Strict-Transport-Security"), $"{path}: HSTS over plain http");
        }
    }

    [Theory]
    [InlineData("Broker:ForwardedHeaders:KnownProxies:0", "caddy.local", "KnownProxies")]
    [InlineData("Broker:ForwardedHeaders:KnownProxies:0", "127.1", "KnownProxies")]
    [InlineData("Broker:ForwardedHeaders:KnownNetworks:0", "10.0.0.0/33", "KnownNetworks")]
    [InlineData("Broker:ForwardedHeaders:KnownNetworks:0", "10.0.0.0", "KnownNetworks")]
    public void A_proxy_setting_that_is_not_an_address_or_network_stops_the_start_naming_it(string setting, string value, string named)
    {
        var failure = Coordinator.StartupFailure(new Dictionary<string, string?> { [setting] = value });
        Assert.Contains($"Broker:ForwardedHeaders:{named}", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASP_NET_Cores_switch_that_trusts_forwarded_headers_from_anyone_stops_the_start()
    {
        using var app = new BrokerApp(settings: new Dictionary<string, string?> { ["FORWARDEDHEADERS_ENABLED"] = "true" });
        var failure = Assert.ThrowsAny<Exception>(() => app.CreateClient());
        Assert.Contains("ASPNETCORE_FORWARDEDHEADERS_ENABLED", failure.Message, StringComparison.Ordinal);
    }

    private static HttpRequestMessage Lookup() =>
        new(HttpMethod.Post, "/api/status") { Content = JsonContent.Create(new { token = StatusToken.Generate() }) };

    private static HttpRequestMessage Forwarded(HttpRequestMessage request, string forwardedFor, string proto)
    {
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", forwardedFor);
        request.Headers.Add("X-Forwarded-Proto", proto);
        return request;
    }

    private static async Task<string> SubmitAsync(BrokerApp app)
    {
        using var organisation = Client(app, "127.0.0.1");
        organisation.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", BrokerApp.OrgKey);
        var created = await organisation.PostAsJsonAsync("/api/referrals", BrokerApp.Referral());
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("statusToken").GetString()!;
    }

    private static async Task<HttpStatusCode> StatusAsync(BrokerApp app, string from, string token)
    {
        using var client = Client(app, from);
        return (await client.PostAsJsonAsync("/api/status", new { token })).StatusCode;
    }

    /// <summary>A client whose every connection leaves from <paramref name="from"/>, an address of 127.0.0.0/8.</summary>
    internal static HttpClient Client(BrokerApp app, string from) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, ct) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Parse(from), 0));
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    { BaseAddress = app.ServerAddress };
}
