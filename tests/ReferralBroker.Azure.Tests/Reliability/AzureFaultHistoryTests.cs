using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ReferralBroker.Azure.ServiceBus;
using ReferralBroker.Azure.TableStorage;
using ReferralBroker.Azure.Tests.Hosting;
using ReferralBroker.Azure.Tests.ServiceBus;
using ReferralBroker.Azure.Tests.TableStorage;
using ReferralBroker.Ports;
using ReferralBroker.Tests.Integration;
using ReferralBroker.Tests.Reliability;
using Xunit.Abstractions;

namespace ReferralBroker.Azure.Tests.Reliability;

/// <summary>
/// The fault run on the Azure adapters, with faults at the protocol: Table Storage on the real Azurite behind an
/// HttpPipeline policy that answers 503/429 or times out (before the request, or after Azurite executed it),
/// SendGrid calls answered 503, and Service Bus over AMQP on the fake namespace refusing sends (before or after
/// storing the message) and losing locks on completion. Two crash points: intake dying between the Service Bus
/// send and the table insert (the organisation retries with its Idempotency-Key), and a drain dying between
/// receiving messages (and emailing partners) and completing them. Dispatch drains the subscriptions through the
/// inbox as the hosting's timer does. The same <see cref="HistoryChecker"/> as the embedded run judges it; then
/// every table is seized and searched. The injected answers reach the broker's code (no SDK retries).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureFaultHistoryTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private const int Seed = 20261124;
    private const int Referrals = 150;

    [Fact]
    public async Task No_acknowledged_referral_is_lost_or_emailed_twice_on_Table_Storage_under_protocol_faults()
    {
        var faults = new ProtocolFaults(Seed);
        var intakeCrashes = 0;
        var clientOptions = new TableClientOptions();
        clientOptions.Retry.Mode = RetryMode.Fixed;
        clientOptions.Retry.Delay = TimeSpan.FromMilliseconds(1);
        clientOptions.AddPolicy(faults, HttpPipelinePosition.PerRetry);
        using var broker = new AzureBroker(azurite, settings: new Dictionary<string, string?>
        {
            ["Broker:RateLimits:StatusPerMinute"] = "1000000",
            ["Broker:RateLimits:PartnerPerMinute"] = "1000000",
            ["Broker:RateLimits:GlobalMissesPerMinute"] = "1000000",
        }, services: b => services =>
        {
            services.AddSingleton<IReferralStore>(new TableReferralStore(b.Tables, null, clientOptions));
            services.AddSingleton<IIdempotencyStore>(new TableIdempotencyStore(b.Tables, null, clientOptions));
            // The crash point between the Service Bus send and the table insert: the message is out, the process dies.
            services.AddSingleton<IReferralQueue>(sp => new CrashAfterSend(
                new ServiceBusReferralQueue(sp.GetRequiredService<ServiceBusNamespace>(), sp.GetRequiredService<ILogger<ServiceBusReferralQueue>>()),
                () => faults.Next(12) == 0 && Interlocked.Increment(ref intakeCrashes) > 0));
        }, fail: faults.FailService);
        await broker.ServiceBus.SetFaultRatesAsync(Seed, send: 0.04, sendAfterStore: 0.04, complete: 0.06);
        var drainCrashes = 0;

        var tracked = new List<TrackedReferral>();
        var organisation = broker.App.Organisation();
        var anyone = broker.App.CreateClient();
        for (var n = 0; n < Referrals; n++)
        {
            var marker = $"AZFAULT{n}MARK{faults.Next(int.MaxValue):x8}";
            var t = new TrackedReferral($"az-key-{n}", marker, BrokerApp.Referral(marker));
            tracked.Add(t);
            for (var attempt = 0; attempt < 4 && t.Acknowledged is null; attempt++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals") { Content = new StringContent(t.Body.GetRawText(), Encoding.UTF8, "application/json") };
                request.Headers.Add("Idempotency-Key", t.IdempotencyKey);
                var response = await organisation.SendAsync(request);
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    t.Acknowledged = await response.Content.ReadFromJsonAsync<Submitted>();
                }
            }

            if (n % 5 == 4)
            {
                if (faults.Next(3) == 0)
                {
                    drainCrashes += await CrashingDrainAsync(broker, faults);
                }

                await broker.DrainAllAsync();
                await ActAsync(broker, faults, tracked, anyone);
            }
        }

        faults.Heal();
        await broker.ServiceBus.SetFaultRatesAsync(Seed, send: 0, sendAfterStore: 0, complete: 0);
        for (var pass = 0; pass < 3; pass++)
        {
            await broker.DrainAllAsync();
        }

        // Messages of submissions that died before their insert and were never retried: dropped after the grace.
        broker.Time.Advance(TimeSpan.FromMinutes(16));
        await broker.DrainAllAsync();
        var leftInSubscriptions = 0;
        foreach (var subscription in broker.App.Services.GetRequiredService<IDispatchInbox>().Subscriptions)
        {
            leftInSubscriptions += (await broker.ServiceBus.EntityAsync(FakeServiceBus.SubscriptionPath(subscription))).All.Count();
        }

        await broker.SweepAsync();
        var emails = broker.AcceptedMails.Select(m => AzureBroker.LinkInMail(m).ReferralId).CountBy(id => id).ToDictionary();
        var finals = new Dictionary<string, FinalState>();
        foreach (var t in tracked.Where(t => t.Acknowledged is not null))
        {
            var id = t.Acknowledged!.ReferralId;
            var org = await organisation.GetFromJsonAsync<JsonElement>($"/api/referrals/{id}");
            var client = await anyone.PostAsJsonAsync("/api/status", new { token = t.Acknowledged.StatusToken });
            finals[id] = new FinalState(
                org.GetProperty("status").GetString(),
                client.IsSuccessStatusCode ? (await client.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString() : null,
                [.. org.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("status").GetString()!)],
                org.TryGetProperty("deliveryFailed", out var failed) && failed.GetBoolean(),
                emails.GetValueOrDefault(id),
                t.Acknowledged.ExpiresAt);
        }

        var verdict = HistoryChecker.Check(tracked, finals, broker.Time.GetUtcNow());
        // No partner is ever emailed about a referral whose record does not exist.
        var emailedWithoutRecord = 0;
        foreach (var id in emails.Keys)
        {
            emailedWithoutRecord += (await organisation.GetAsync($"/api/referrals/{id}")).StatusCode == HttpStatusCode.OK ? 0 : 1;
        }

        var bus = await broker.ServiceBus.InjectedAsync();
        Report($"azure referrals={verdict.Referrals} faults={faults.Injected + bus.Send + bus.SendAfterStore + bus.Complete} (table={faults.TableFaults} " +
            $"servicebus: send={bus.Send} sendAnswerLost={bus.SendAfterStore} complete={bus.Complete} sendgrid={faults.SendGridFaults}) " +
            $"crashes: intakeAfterSend={intakeCrashes} drainBeforeComplete={drainCrashes} " +
            $"markedForResending={verdict.MarkedForResending} lost={verdict.Lost} duplicatedEmails={verdict.DuplicatedEmails} " +
            $"inconsistentStatuses={verdict.InconsistentStatuses} emailedWithoutRecord={emailedWithoutRecord} leftInSubscriptions={leftInSubscriptions} seed={Seed}");
        verdict.Problems.Take(20).ToList().ForEach(Report);

        // Seizure: every entity of this broker's tables, and every log line.
        var tables = (await azurite.DumpAllTablesAsync()).Where(e => e.Table.StartsWith(broker.TablePrefix, StringComparison.Ordinal)).ToList();
        var seized = string.Join('\n', tables.Select(e => e.Json)) + string.Join('\n', broker.App.Logs);
        var links = broker.AcceptedMails.Select(AzureBroker.LinkInMail).ToList();
        var needles = tracked.Select(t => t.Marker)
            .Concat(tracked.Where(t => t.Acknowledged is not null).SelectMany(t => new[] { t.Acknowledged!.StatusToken, t.Acknowledged.StatusToken.Replace("-", "", StringComparison.Ordinal) }))
            .Concat(links.SelectMany(l => new[] { l.Secret, l.Capability }))
            .ToList();
        var hits = needles.Count(seized.Contains);
        Report($"azure seizure: entities={tables.Count} logLines={broker.App.Logs.Count} markers={tracked.Count} links={links.Count} hits={hits}");

        Assert.True(verdict.Referrals >= Referrals * 9 / 10, "Too few referrals were acknowledged for the run to mean anything.");
        Assert.True(faults.TableFaults > 50 && faults.SendGridFaults > 5 && bus.Send + bus.SendAfterStore > 5 && bus.Complete > 5
            && intakeCrashes > 3 && drainCrashes > 3, "The run injected too few faults.");
        // SendGrid takes no idempotency key: a duplicate now needs "delivered" to fail to be recorded four times
        // in a row after the mail went out (the dispatcher retries it; docs/reliability.md, known gaps).
        Assert.Equal((0, 0, 0), (verdict.Lost, verdict.DuplicatedEmails, verdict.InconsistentStatuses));
        Assert.Equal((0, 0), (emailedWithoutRecord, leftInSubscriptions));
        Assert.True(tables.Count > 0);
        Assert.Equal(0, hits);
    }

    /// <summary>
    /// A drain that dies between receive and complete: a few messages of one subscription are received and handled
    /// (partners emailed) by the inbox's own per-message code, then the process is gone before any settlement. The
    /// receiver's link closes with the locks unsettled, and the messages come back with one delivery more.
    /// </summary>
    private static async Task<int> CrashingDrainAsync(AzureBroker broker, ProtocolFaults faults)
    {
        var bus = broker.App.Services.GetRequiredService<ServiceBusNamespace>();
        var handler = broker.App.Services.GetRequiredService<ServiceBusDispatchHandler>();
        var receiver = bus.Client.CreateReceiver(bus.Options.TopicName, "health");
        await using (receiver)
        {
            var batch = await receiver.ReceiveMessagesAsync(1 + faults.Next(3), TimeSpan.FromMilliseconds(300));
            foreach (var message in batch)
            {
                await handler.HandleAsync(message, CancellationToken.None);
            }

            return batch.Count > 0 ? 1 : 0;
        }
    }

    private static async Task ActAsync(AzureBroker broker, ProtocolFaults faults, List<TrackedReferral> tracked, HttpClient anyone)
    {
        var mails = broker.AcceptedMails;
        if (mails.Count > 0)
        {
            var link = AzureBroker.LinkInMail(mails[faults.Next(mails.Count)]);
            var t = tracked.FirstOrDefault(r => r.Acknowledged?.ReferralId == link.ReferralId);
            var accept = faults.Next(2) == 0;
            var url = $"/api/partner/referrals/{link.ReferralId}";
            var response = accept
                ? await broker.App.Partner(link).PostAsync($"{url}/accept", null)
                : await broker.App.Partner(link).PostAsJsonAsync($"{url}/decline", new { reason = "no-capacity" });
            // A 409 may hide this very action: the write went through, its answer was lost, and the SDK's retry
            // met the new ETag (docs/reliability.md, known gaps). So a 409 here is "unknown", not "refused".
            t?.Attempts.Add(new Attempt(accept ? "accepted" : "declined",
                response.StatusCode == HttpStatusCode.Conflict ? Outcome.Unknown : HistoryChecker.Classify(response.StatusCode)));
        }

        var acknowledged = tracked.Where(r => r.Acknowledged is not null).ToList();
        if (acknowledged.Count > 0 && faults.Next(3) == 0)
        {
            var t = acknowledged[faults.Next(acknowledged.Count)];
            var response = await anyone.PostAsJsonAsync("/api/status/withdraw", new { token = t.Acknowledged!.StatusToken });
            t.Attempts.Add(new Attempt("withdrawn", HistoryChecker.Classify(response.StatusCode)));
        }
    }

    private void Report(string line) => Figures.Report(output, "fault run (Azure adapters)", line);

    /// <summary>Seeded faults for Table Storage (a pipeline policy, inside the retries) and the HTTP stubs.</summary>
    private sealed class ProtocolFaults(int seed) : HttpPipelinePolicy
    {
        private readonly Random _random = new(seed);
        private readonly Lock _lock = new();
        private bool _healed;

        public int TableFaults { get; private set; }
        public int SendGridFaults { get; private set; }
        public int Injected => TableFaults + SendGridFaults;

        public void Heal() => _healed = true;

        public int Next(int max)
        {
            lock (_lock)
            {
                return _random.Next(max);
            }
        }

        public bool FailService(string service)
        {
            lock (_lock)
            {
                if (_healed || _random.NextDouble() >= 0.15)
                {
                    return false;
                }

                SendGridFaults++;
                return true;
            }
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var fault = Roll();
            switch (fault)
            {
                case 1:
                    message.Response = new StatusResponse(503);
                    return;
                case 2:
                    message.Response = new StatusResponse(429);
                    return;
                case 3:
                    throw new IOException("Injected timeout before the request was sent.");
            }

            await ProcessNextAsync(message, pipeline);
            if (fault == 4)
            {
                // Azurite did it; the answer is lost on the way back.
                throw new IOException("Injected timeout after the request was executed.");
            }
        }

        private int Roll()
        {
            lock (_lock)
            {
                if (_healed || _random.NextDouble() >= 0.08)
                {
                    return 0;
                }

                TableFaults++;
                return 1 + _random.Next(4);
            }
        }
    }

    private sealed class StatusResponse(int status) : Response
    {
        public override int Status => status;
        public override string ReasonPhrase => status == 503 ? "Server Busy" : "Too Many Requests";
        public override Stream? ContentStream { get; set; } = new MemoryStream();
        public override string ClientRequestId { get; set; } = "";

        public override void Dispose()
        {
        }

        protected override bool ContainsHeader(string name) => false;
        protected override IEnumerable<HttpHeader> EnumerateHeaders() => [];

        protected override bool TryGetHeader(string name, [NotNullWhen(true)] out string? value)
        {
            value = null;
            return false;
        }

        protected override bool TryGetHeaderValues(string name, [NotNullWhen(true)] out IEnumerable<string>? values)
        {
            values = null;
            return false;
        }
    }
}
