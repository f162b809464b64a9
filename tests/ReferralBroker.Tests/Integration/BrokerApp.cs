using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using ReferralBroker.Azure;
using ReferralBroker.Embedded;
using ReferralBroker.Referrals;

namespace ReferralBroker.Tests.Integration;

/// <summary>
/// The broker on its embedded default (real SQLite file, real development mailbox), with only the edges swapped:
/// a fake clock, captured logs, and the background dispatcher and sweep driven by the test.
/// </summary>
public sealed partial class BrokerApp : WebApplicationFactory<Program>
{
    public const string OrgKey = "test-org-key-0123456789";
    /// <summary>A test setting: "Azure" swaps the Azure adapters in, as the Functions project composes them.</summary>
    public const string HostingSetting = "Broker:Hosting";
    public const string AzureHosting = "Azure";
    public const string OtherOrgKey = "other-org-key-0123456789";
    public static readonly DateTimeOffset Start = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;
    private readonly StartGate _startGate = new();

    /// <param name="settings">Extra settings over the defaults, e.g. to host it as in Azure against Azurite and stubs.</param>
    /// <param name="realServer">Serve on a real socket (Kestrel, 127.0.0.1, a free port) for a browser: see <see cref="ServerAddress"/>.</param>
    /// <param name="services">Last word on the services, e.g. to wrap the ports in fault injectors.</param>
    /// <param name="https">With realServer: serve HTTPS with this certificate instead of plain http.</param>
    public BrokerApp(string? dataPath = null, bool runDispatcher = false, FakeTimeProvider? time = null,
        IReadOnlyDictionary<string, string?>? settings = null, bool realServer = false, Action<IServiceCollection>? services = null,
        System.Security.Cryptography.X509Certificates.X509Certificate2? https = null)
    {
        _services = services;
        if (realServer)
        {
            UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                if (https is not null)
                {
                    listen.UseHttps(https);
                }
            }));
        }

        DataPath = dataPath ?? Directory.CreateTempSubdirectory("broker-test-").FullName;
        Time = time ?? new FakeTimeProvider(Start);
        _settings = new()
        {
            ["Broker:DataPath"] = DataPath,
            ["Broker:PublicBaseUrl"] = "https://broker.test",
            ["Broker:Demo:OrgApiKey"] = OrgKey,
            ["Broker:Queue:RunDispatcher"] = runDispatcher ? "true" : "false",
            ["Broker:Queue:PollInterval"] = "00:00:00.200",
            ["Broker:Queue:RunSweep"] = "false",
            ["Broker:Queue:RunNotifications"] = "false",
            ["Broker:Organisations:0:Id"] = "other-org",
            ["Broker:Organisations:0:Name"] = "Another organisation",
            ["Broker:Organisations:0:ApiKeySha256"] = ApiKeys.Hash(OtherOrgKey),
            ["Logging:LogLevel:Default"] = "Trace",
            // Tests submit and flag far faster than any organisation; OrganisationLimitTests sets its own limits.
            ["Broker:RateLimits:SubmissionsPerMinute"] = "1000000",
            ["Broker:RateLimits:FlagsPerMinute"] = "1000000",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public string DataPath { get; }
    public FakeTimeProvider Time { get; }
    public ConcurrentQueue<string> Logs { get; } = new();
    /// <summary>The development mailbox's folder, where its sealed files are.</summary>
    public string OutboxPath => Path.Combine(DataPath, "mail");

    /// <summary>The broker's own development mailbox, read as the page at /dev/mailbox reads it.</summary>
    internal DevelopmentMailbox Mailbox => Services.GetRequiredService<MailMode>().DevelopmentMailbox!;
    public string DatabasePath => Path.Combine(DataPath, "broker.db");

    /// <summary>
    /// Every byte SQLite keeps: the file and its write-ahead log and index, where a write stays until a checkpoint.
    /// A search of the file alone would miss it.
    /// </summary>
    public async Task<byte[]> DatabaseBytesAsync()
    {
        using var all = new MemoryStream();
        foreach (var file in Directory.GetFiles(DataPath, "broker.db*"))
        {
            all.Write(await ReadSharedAsync(file));
        }

        return all.ToArray();
    }

    /// <summary>Reads a file the running broker holds open.</summary>
    public static async Task<byte[]> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    /// <summary>The Kestrel server's address, e.g. http://127.0.0.1:41234, started on first use (realServer only).</summary>
    public Uri ServerAddress
    {
        get
        {
            StartServer();
            return new Uri(Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // Settings go in as host settings: Program reads the hosting mode while composing, before Build.
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.ClearProviders().SetMinimumLevel(LogLevel.Trace)
            .AddProvider(new CapturingLoggerProvider(Logs)));
        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimeProvider>(Time);
            services.AddSingleton<IHostLifetime>(_startGate);
            if (_settings.GetValueOrDefault(HostingSetting) == AzureHosting)
            {
                // The Functions project's adapters under the same handlers and gate: registered last, they take
                // over every port (the embedded pumps are off in tests and find nothing of theirs to drive).
                services.AddAzureAdapters(new ConfigurationBuilder().AddInMemoryCollection(_settings).Build());
            }

            _services?.Invoke(services);
        });
    }

    /// <summary>
    /// Starts the host only once the test host listens for the outcome. WebApplicationFactory's deferred host reads
    /// the real host's services as it starts; a start that fails at once (settings refused by validation) ran
    /// Program to its end and disposed them first, and the test saw an ObjectDisposedException instead of the
    /// failure (it happened in CI). The real host waits in <see cref="StartGate"/> until the deferred host has read
    /// them and waits for the result.
    /// </summary>
    protected override IHost CreateHost(IHostBuilder builder)
    {
        var host = builder.Build();
        var started = host.StartAsync();
        _startGate.Open();
        started.GetAwaiter().GetResult();
        return host;
    }

    public HttpClient Organisation(string key = OrgKey)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public Task<int> DispatchAsync() => Services.GetRequiredService<EmbeddedDispatchPump>().DrainAsync(CancellationToken.None);

    public Task<int> NotifyAsync() => Services.GetRequiredService<EmbeddedNotificationPump>().DeliverDueAsync(CancellationToken.None);

    public Task<SweepReport> SweepAsync() => Services.GetRequiredService<EmbeddedSweepService>().SweepOnceAsync(CancellationToken.None);

    /// <summary>Every email the broker sent, oldest first, as RFC 5322 text.</summary>
    public string[] Outbox() => [.. Mailbox.Messages().Select(m => m.Text)];

    /// <summary>The partner's link from an email: the referral id and the link secret S from the fragment.</summary>
    public static PartnerLink LinkIn(string email)
    {
        var match = LinkPattern().Match(email);
        Assert.True(match.Success, "The email holds no partner link.");
        return new PartnerLink(match.Groups["id"].Value, match.Groups["secret"].Value);
    }

    public PartnerLink LinkFor(string referralId) =>
        LinkIn(Mailbox.Messages().Single(m => m.IsPartnerEmail && m.ReferralId == referralId).Text);

    public HttpClient Partner(PartnerLink link)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Add("X-Referral-Capability", link.Capability);
        return client;
    }

    public static JsonElement Referral(string marker = "", string partnerId = "demo-health", string category = "health", string? expiresAt = null) =>
        JsonSerializer.SerializeToElement(new Dictionary<string, object?>
        {
            ["category"] = category,
            ["partnerId"] = partnerId,
            ["consent"] = new Dictionary<string, object?>
            {
                ["obtainedBy"] = "verbal",
                ["sharedFields"] = new[] { "firstName", "contact", "contactVia", "language", "needs" },
                ["expiresAt"] = expiresAt,
            }.Where(p => p.Value is not null).ToDictionary(),
            ["client"] = new Dictionary<string, string>
            {
                ["firstName"] = $"Mai{marker}",
                ["contact"] = $"Signal +66 80 000 0000 {marker}",
                ["contactVia"] = "client",
                ["language"] = "th",
                ["needs"] = $"STI testing; prefers a woman doctor {marker}",
            },
        });

    public async Task<Submitted> SubmitAsync(JsonElement? body = null, HttpClient? organisation = null)
    {
        var response = await (organisation ?? Organisation()).PostAsJsonAsync("/api/referrals", body ?? Referral());
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<Submitted>())!;
    }

    public async Task<(Submitted Referral, PartnerLink Link)> SubmitAndDispatchAsync(JsonElement? body = null)
    {
        var submitted = await SubmitAsync(body);
        await DispatchAsync();
        return (submitted, LinkFor(submitted.ReferralId));
    }

    /// <summary>The status as the owning organisation sees it: the broker's own record, not any page's wording.</summary>
    public async Task<string?> OrganisationStatusAsync(string referralId) =>
        (await Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{referralId}")).GetProperty("status").GetString();

    public async Task<JsonElement> StatusAsync(string token, string path = "/api/status")
    {
        var response = await CreateClient().PostAsJsonAsync(path, new { token });
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        // Pooled SQLite connections keep the file open; release them so the folder can go.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    [GeneratedRegex(@"https://broker\.test/partner/(?<id>ref_[0-9a-f]+)#(?<secret>[A-Za-z0-9_-]+)")]
    private static partial Regex LinkPattern();
}

public sealed record Submitted(string ReferralId, string StatusToken, string Status, DateTimeOffset ExpiresAt);

public sealed record PartnerLink(string ReferralId, string Secret)
{
    public byte[] SecretBytes => Tokens.Base64Url.TryDecode(Secret)!;

    /// <summary>What the partner's page derives from the link: the broker never sees S itself.</summary>
    public string Capability => Tokens.Base64Url.Encode(Sealing.ReferralSeal.DeriveCapability(SecretBytes, ReferralId));
}

/// <summary>The host's lifetime in the tests: the start waits until the test host has subscribed to its outcome.</summary>
internal sealed class StartGate : IHostLifetime
{
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Open() => _open.TrySetResult();

    public Task WaitForStartAsync(CancellationToken cancellationToken) => _open.Task.WaitAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Keeps every log line, with its structured values and any exception, for the seizure test.</summary>
internal sealed class CapturingLoggerProvider(ConcurrentQueue<string> sink) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, sink);

    public void Dispose()
    {
    }

    private sealed class CapturingLogger(string category, ConcurrentQueue<string> sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            sink.Enqueue($"{category} scope: {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(";", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            sink.Enqueue($"{logLevel} {category}: {formatter(state, exception)} [{values}] {exception}");
        }
    }
}
