using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ReferralBroker.Azure.Tests.ServiceBus;
using ReferralBroker.Azure.Tests.TableStorage;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Azure.Tests.Hosting;

/// <summary>
/// The broker hosted as in Azure: the same <see cref="BrokerApp"/>, with Table Storage on the real Azurite, the
/// real Service Bus SDK talking AMQP to the fake namespace (<see cref="FakeServiceBus"/>), and a protocol stub for
/// SendGrid (checking the API key). Dispatch drains the subscriptions through <see cref="IDispatchInbox"/>, as the
/// hosting's timer does.
/// </summary>
internal sealed partial class AzureBroker : IDisposable
{
    public const string SendGridKey = "SG.test-key";
    private readonly List<StubRequest> _acceptedMails = [];
    private readonly Lock _gate = new();
    private readonly Func<string, bool> _fail;
    private int _sendGridFailures;
    private volatile int _partnerRefusal;

    public const string NotificationEmail = "caseworkers@org.example.org";
    public const string PartnerEmail = "intake@health.example.org";

    /// <param name="webhook">When set, the organisation is notified by email and by this (loopback) webhook.</param>
    /// <param name="settings">Extra settings over the Azure ones, e.g. rate limits out of the way.</param>
    /// <param name="services">Passed to <see cref="BrokerApp"/>: the last word on the services.</param>
    /// <param name="fail">Asked before each SendGrid call ("sendgrid"): true answers 503. Service Bus faults are the fake's.</param>
    public AzureBroker(AzuriteFixture azurite, Uri? webhook = null, IReadOnlyDictionary<string, string?>? settings = null,
        Func<AzureBroker, Action<IServiceCollection>>? services = null, Func<string, bool>? fail = null)
    {
        _fail = fail ?? (_ => false);
        Time = new FakeTimeProvider(BrokerApp.Start);
        ServiceBus = FakeServiceBus.StartAsync().GetAwaiter().GetResult();
        // Enqueue times on the broker's fake clock, so message ages (grace, dead-letter TTL) follow Time.
        ServiceBus.SetClockAsync(Time.GetUtcNow()).GetAwaiter().GetResult();
        SendGrid = HttpStub.Start(request => request.Header("Authorization") != $"Bearer {SendGridKey}"
            ? new StubResponse(401)
            : _partnerRefusal is > 0 and var refusal && request.BodyText.Contains($"\"{PartnerEmail}\"", StringComparison.Ordinal) ? new StubResponse(refusal)
            : Interlocked.Decrement(ref _sendGridFailures) >= 0 || _fail("sendgrid") ? new StubResponse(503) : Accepted(request));
        var tables = azurite.CreateOptions();
        Tables = tables;
        var network = new JsonObject
        {
            ["organisations"] = new JsonArray(new JsonObject
            {
                ["id"] = "demo-org", ["name"] = "Org", ["apiKeySha256"] = ApiKeys.Hash(BrokerApp.OrgKey),
                ["notificationEmail"] = webhook is null ? null : NotificationEmail,
                ["webhookUrl"] = webhook?.ToString(),
                ["webhookSecret"] = webhook is null ? null : WebhookReceiver.Secret,
            }),
            ["partners"] = new JsonArray(new JsonObject
            {
                ["id"] = "demo-health", ["name"] = "Clinic", ["email"] = PartnerEmail,
                ["categories"] = new JsonArray("health"), ["languages"] = new JsonArray("th"),
            }),
        };
        App = new BrokerApp(time: Time, settings: new Dictionary<string, string?>
        {
            [BrokerApp.HostingSetting] = BrokerApp.AzureHosting,
            ["Broker:Pepper"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Broker:NetworkJson"] = network.ToJsonString(),
            ["Broker:Admin:CoordinatorKeySha256"] = ApiKeys.Hash(Coordinator.Key),
            ["Broker:Azure:Tables:Endpoint"] = tables.Endpoint!.ToString(),
            ["Broker:Azure:Tables:AccountName"] = tables.AccountName,
            ["Broker:Azure:Tables:AccountKey"] = tables.AccountKey,
            ["Broker:Azure:Tables:TablePrefix"] = tables.TablePrefix,
            ["Broker:Azure:ServiceBus:ConnectionString"] = ServiceBus.ConnectionString,
            // No SDK retries: a fault the fake injects reaches the broker's code.
            ["Broker:Azure:ServiceBus:MaxRetries"] = "0",
            ["Broker:Azure:ServiceBus:RetryDelay"] = "00:00:00.010",
            ["Broker:Azure:ServiceBus:ReceiveWaitTime"] = "00:00:00.300",
            ["Broker:Azure:ServiceBus:DeadLetterReceiveTimeout"] = "00:00:00.300",
            ["Broker:Azure:SendGrid:Endpoint"] = SendGrid.BaseUri.ToString(),
            ["Broker:Azure:SendGrid:ApiKey"] = SendGridKey,
            ["Broker:Azure:SendGrid:FromEmail"] = "referrals@broker.test",
            ["Broker:Notifications:AllowLoopbackHttpWebhooks"] = webhook is null ? "false" : "true",
        }.Concat(settings ?? new Dictionary<string, string?>()).ToDictionary(), services: services?.Invoke(this));
        TablePrefix = tables.TablePrefix;
    }

    public BrokerApp App { get; }
    public FakeTimeProvider Time { get; }
    public FakeServiceBus ServiceBus { get; }
    public HttpStub SendGrid { get; }
    public string TablePrefix { get; }
    public ReferralBroker.Azure.TableStorage.TableStorageOptions Tables { get; }

    /// <summary>The mails SendGrid accepted (202): what partners actually received.</summary>
    public IReadOnlyList<StubRequest> AcceptedMails
    {
        get
        {
            lock (_gate)
            {
                return [.. _acceptedMails];
            }
        }
    }

    /// <summary>Bodies of the messages the topic accepted (not refused, not duplicates), in order.</summary>
    public async Task<IReadOnlyList<byte[]>> SentMessagesAsync() =>
        [.. (await ServiceBus.ReceivedAsync()).Where(m => m.Outcome != "failed" && !m.Duplicate).Select(m => m.Body)];

    /// <summary>The hosting's timer: every subscription drained until a drain receives nothing.</summary>
    public async Task<DrainReport> DrainAllAsync()
    {
        var inbox = App.Services.GetRequiredService<IDispatchInbox>();
        var total = DrainReport.Empty;
        foreach (var subscription in inbox.Subscriptions)
        {
            DrainReport report;
            do
            {
                report = await inbox.DrainAsync(subscription, CancellationToken.None);
                total = new DrainReport(total.Received + report.Received, total.Completed + report.Completed,
                    total.Abandoned + report.Abandoned, total.DeadLettered + report.DeadLettered);
            }
            while (report.Completed + report.DeadLettered > 0);
        }

        return total;
    }

    public IReadOnlyList<StubRequest> Mails => [.. SendGrid.Requests.Where(r => r.Method == "POST")];

    public void FailSendGrid(int times) => _sendGridFailures = times;

    /// <summary>From now on SendGrid answers mails to the partner with <paramref name="status"/> (0: accepts them again); other mails go.</summary>
    public void RefuseMailsToThePartner(int status) => _partnerRefusal = status;

    /// <summary>One run of the Functions project's dispatch timer for a category, the class activated as the worker does.</summary>
    public Task RunDispatchTimerAsync(string category)
    {
        var functions = ActivatorUtilities.CreateInstance<ReferralBroker.Functions.TimerFunctions>(App.Services);
        var timer = new Microsoft.Azure.Functions.Worker.TimerInfo();
        return category switch
        {
            "health" => functions.DispatchHealth(timer, CancellationToken.None),
            "legal" => functions.DispatchLegal(timer, CancellationToken.None),
            "employment" => functions.DispatchEmployment(timer, CancellationToken.None),
            _ => functions.DispatchOther(timer, CancellationToken.None),
        };
    }

    /// <summary>The sweep timer's run, as the Functions project's <c>Sweep</c> function does it, and its log line.</summary>
    public async Task<string> SweepAsync()
    {
        var (sweep, marked, notified) = await App.Services.GetRequiredService<ScheduledSweep>().RunAsync(CancellationToken.None);
        return $"Sweep: {sweep.Expired} expired, {sweep.SealedDestroyed} sealed destroyed, {sweep.Purged} purged, " +
            $"{marked} dead-lettered referrals marked for re-sending, {notified} notifications attempted.";
    }

    public static PartnerLink LinkInMail(StubRequest mail)
    {
        var match = LinkPattern().Match(mail.BodyText);
        Assert.True(match.Success, "The mail holds no partner link.");
        return new PartnerLink(match.Groups["id"].Value, match.Groups["secret"].Value);
    }

    public void Dispose()
    {
        App.Dispose();
        ServiceBus.Dispose();
        SendGrid.Dispose();
    }

    private StubResponse Accepted(StubRequest mail)
    {
        lock (_gate)
        {
            _acceptedMails.Add(mail);
        }

        return new StubResponse(202);
    }

    [GeneratedRegex(@"https://broker\.test/partner/(?<id>ref_[0-9a-f]+)#(?<secret>[A-Za-z0-9_-]+)")]
    private static partial Regex LinkPattern();
}
