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
/// The broker hosted as in Azure: the same <see cref="BrokerApp"/>, with Table Storage on the real Azurite and
/// protocol stubs for Service Bus (topic send and dead-letter queues, checking the SAS signature) and SendGrid
/// (checking the API key). Dispatch and sweep run as the Functions project's timers run them.
/// </summary>
internal sealed partial class AzureBroker : IDisposable
{
    public const string SendGridKey = "SG.test-key";
    private readonly List<byte[]> _sentMessages = [];
    private readonly List<StubRequest> _acceptedMails = [];
    private readonly Lock _gate = new();
    private readonly Func<string, bool> _fail;
    private int _sendGridFailures;

    public const string NotificationEmail = "caseworkers@org.example.org";

    /// <param name="webhook">When set, the organisation is notified by email and by this (loopback) webhook.</param>
    /// <param name="settings">Extra settings over the Azure ones, e.g. rate limits out of the way.</param>
    /// <param name="services">Passed to <see cref="BrokerApp"/>: the last word on the services.</param>
    /// <param name="fail">Asked before each Service Bus send ("servicebus") and SendGrid call ("sendgrid"): true answers 503.</param>
    public AzureBroker(AzuriteFixture azurite, Uri? webhook = null, IReadOnlyDictionary<string, string?>? settings = null,
        Func<AzureBroker, Action<IServiceCollection>>? services = null, Func<string, bool>? fail = null)
    {
        _fail = fail ?? (_ => false);
        Time = new FakeTimeProvider(BrokerApp.Start);
        DeadLetters = new ServiceBusDeadLetterPurgerTests.DeadLetterQueues(Time, ServiceBusDeadLetterPurgerTests.Key);
        ServiceBus = HttpStub.Start(HandleServiceBus);
        SendGrid = HttpStub.Start(request => request.Header("Authorization") != $"Bearer {SendGridKey}"
            ? new StubResponse(401)
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
                ["id"] = "demo-health", ["name"] = "Clinic", ["email"] = "intake@health.example.org",
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
            ["Broker:Azure:ServiceBus:Endpoint"] = ServiceBus.BaseUri.ToString(),
            ["Broker:Azure:ServiceBus:SasKeyName"] = ServiceBusDeadLetterPurgerTests.KeyName,
            ["Broker:Azure:ServiceBus:SasKey"] = ServiceBusDeadLetterPurgerTests.Key,
            ["Broker:Azure:ServiceBus:DeadLetterReceiveTimeout"] = "00:00:01",
            ["Broker:Azure:SendGrid:Endpoint"] = SendGrid.BaseUri.ToString(),
            ["Broker:Azure:SendGrid:ApiKey"] = SendGridKey,
            ["Broker:Azure:SendGrid:FromEmail"] = "referrals@broker.test",
            ["Broker:Notifications:AllowLoopbackHttpWebhooks"] = webhook is null ? "false" : "true",
        }.Concat(settings ?? new Dictionary<string, string?>()).ToDictionary(), services: services?.Invoke(this));
        TablePrefix = tables.TablePrefix;
    }

    public BrokerApp App { get; }
    public FakeTimeProvider Time { get; }
    public HttpStub ServiceBus { get; }
    public HttpStub SendGrid { get; }
    public ServiceBusDeadLetterPurgerTests.DeadLetterQueues DeadLetters { get; }
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

    /// <summary>Bodies of the messages sent to the topic, in order.</summary>
    public IReadOnlyList<byte[]> SentMessages
    {
        get
        {
            lock (_gate)
            {
                return [.. _sentMessages];
            }
        }
    }

    public IReadOnlyList<StubRequest> Mails => [.. SendGrid.Requests.Where(r => r.Method == "POST")];

    public void FailSendGrid(int times) => _sendGridFailures = times;

    /// <summary>
    /// One dispatch of a message body, as the dispatch timer's receiver hands it over (200 when done, 500 when it
    /// would be abandoned), or one run of the sweep timer: the work of the Functions project's timer functions.
    /// </summary>
    public async Task<(int Status, JsonElement Body)> InvokeAsync(string function, byte[]? message = null)
    {
        if (function == "Sweep")
        {
            var (sweep, marked, notified) = await App.Services.GetRequiredService<ScheduledSweep>().RunAsync(CancellationToken.None);
            return (200, JsonSerializer.SerializeToElement(
                $"Sweep: {sweep.Expired} expired, {sweep.Purged} purged, {marked} marked undeliverable, {notified} notified"));
        }

        try
        {
            var decoded = DispatchMessageJson.Deserialize(message) ?? throw new InvalidDataException("Not a dispatch message.");
            var result = await App.Services.GetRequiredService<ReferralDispatcher>().DispatchAsync(decoded, CancellationToken.None);
            return (200, JsonSerializer.SerializeToElement($"{function} {decoded.ReferralId}: {result}"));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return (500, JsonSerializer.SerializeToElement($"{function}: {e.GetType().Name}"));
        }
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

    private StubResponse HandleServiceBus(StubRequest request)
    {
        if (request is { Method: "POST", Path: "/referrals/messages" })
        {
            var resource = $"http://{request.Header("Host")}/referrals";
            if (!SasVerifier.IsValid(request.Header("Authorization"), resource, ServiceBusDeadLetterPurgerTests.KeyName,
                    ServiceBusDeadLetterPurgerTests.Key, Time.GetUtcNow()))
            {
                return new StubResponse(401);
            }

            if (_fail("servicebus"))
            {
                return new StubResponse(503);
            }

            lock (_gate)
            {
                _sentMessages.Add(request.Body);
            }

            return new StubResponse(201);
        }

        return DeadLetters.Handle(request);
    }

    [GeneratedRegex(@"https://broker\.test/partner/(?<id>ref_[0-9a-f]+)#(?<secret>[A-Za-z0-9_-]+)")]
    private static partial Regex LinkPattern();
}
