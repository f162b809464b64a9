using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Azure.Core;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ReferralBroker.Azure.TableStorage;
using ReferralBroker.Azure.Tests.ServiceBus;
using ReferralBroker.Azure.Tests.TableStorage;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using ReferralBroker.Tests.Integration;
using ReferralBroker.Tests.Reliability;
using ReferralBroker.Tokens;
using Xunit.Abstractions;

namespace ReferralBroker.Azure.Tests.Hosting;

/// <summary>
/// What a referral costs in Azure operations, counted on the wire: every Table request (a pipeline policy added
/// through <see cref="TableClientOptions.AddPolicy"/>, as the fault run adds its faults), every Service Bus operation
/// the fake namespace was asked for, and every SendGrid call the stub answered. One referral's life, its two
/// other endings, a batch of ten and the idle timers run through the real HTTP handlers and the Functions project's
/// timer classes; each step's counts are held to <see cref="Budget"/>. A step that needs more of any operation
/// fails naming the step and the operation; one that needs fewer passes and says to lower the budget.
/// docs/performance.md ("Azure: operations, cost and ceilings") turns these counts into money and limits.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class OperationCountTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private const int Batch = 10;

    /// <summary>
    /// The committed budget: per step, the most of each operation it may take. Table: <c>table.kind.operation</c>
    /// (<see cref="TableOperationCounter"/>); Service Bus: <c>servicebus.*</c> as the fake counts them; SendGrid:
    /// <c>sendgrid.partner</c> and <c>sendgrid.organisation</c> (mails). Batch steps are totals for ten referrals.
    /// </summary>
    /// <remarks>
    /// A drain's receive calls depend on how the SDK's calls meet the deliveries: at least one for each batch of up
    /// to <c>ReceiveBatchSize</c> messages and one that finds nothing, at most one per message and that one. The batch
    /// dispatch's budget is that upper bound (11 for 10); everything else is exact for this script.
    /// </remarks>
    private static readonly Dictionary<string, Dictionary<string, int>> Budget = new(StringComparer.Ordinal)
    {
        ["instance start: directory seeded"] = new(StringComparer.Ordinal) { ["directory.query"] = 8, ["directory.upsert"] = 3, ["tables.createTable"] = 1 },
        ["idle: dispatch tick (4 timers)"] = new(StringComparer.Ordinal) { ["servicebus.cbsTokens"] = 4, ["servicebus.receive"] = 4, ["servicebus.receiverLinks"] = 4 },
        ["idle: sweep"] = new(StringComparer.Ordinal) { ["idempotency.query"] = 1, ["referrals.scan.query"] = 2, ["servicebus.cbsTokens"] = 4, ["servicebus.receive"] = 4, ["servicebus.receiverLinks"] = 4 },
        ["directory refresh (per instance and RefreshInterval)"] = new(StringComparer.Ordinal) { ["directory.query"] = 4 },
        ["submit with Idempotency-Key"] = new(StringComparer.Ordinal) { ["idempotency.insert"] = 1, ["referrals.org.insert"] = 1, ["referrals.record.get"] = 1, ["referrals.record.insert"] = 1, ["referrals.token.insert"] = 1, ["servicebus.cbsTokens"] = 1, ["servicebus.send"] = 1, ["servicebus.senderLinks"] = 1 },
        ["dispatch (health timer, 1 message)"] = new(StringComparer.Ordinal) { ["referrals.record.get"] = 1, ["referrals.record.replace"] = 1, ["sendgrid.partner"] = 1, ["servicebus.cbsTokens"] = 1, ["servicebus.complete"] = 1, ["servicebus.receive"] = 2, ["servicebus.receiverLinks"] = 1 },
        ["status check (client, API)"] = new(StringComparer.Ordinal) { ["referrals.record.get"] = 1, ["referrals.token.get"] = 1 },
        ["status check (unknown token)"] = new(StringComparer.Ordinal) { ["referrals.token.get"] = 1 },
        ["partner opens the referral"] = new(StringComparer.Ordinal) { ["referrals.record.get"] = 1 },
        ["partner accepts"] = new(StringComparer.Ordinal) { ["referrals.record.get"] = 1, ["referrals.record.replace"] = 1 },
        ["sweep: 2 notifications (delivered, accepted)"] = new(StringComparer.Ordinal) { ["idempotency.query"] = 1, ["referrals.record.get"] = 1, ["referrals.record.replace"] = 1, ["referrals.scan.query"] = 2, ["sendgrid.organisation"] = 2, ["servicebus.cbsTokens"] = 4, ["servicebus.receive"] = 4, ["servicebus.receiverLinks"] = 4 },
        ["partner: in progress"] = new(StringComparer.Ordinal) { ["referrals.record.get"] = 1, ["referrals.record.replace"] = 1 },
        ["partner: completed"] = new(StringComparer.Ordinal) { ["referrals.record.get"] = 1, ["referrals.record.replace"] = 1 },
        ["sweep: 2 notifications (in progress, completed)"] = new(StringComparer.Ordinal) { ["idempotency.query"] = 1, ["referrals.record.get"] = 1, ["referrals.record.replace"] = 1, ["referrals.scan.query"] = 2, ["sendgrid.organisation"] = 2, ["servicebus.cbsTokens"] = 4, ["servicebus.receive"] = 4, ["servicebus.receiverLinks"] = 4 },
        ["organisation reads the referral"] = new(StringComparer.Ordinal) { ["referrals.record.get"] = 1 },
        ["organisation lists (1 referral)"] = new(StringComparer.Ordinal) { ["referrals.org.query"] = 1, ["referrals.record.get"] = 1 },
        ["report (1 referral stored)"] = new(StringComparer.Ordinal) { ["referrals.report.query"] = 1, ["referrals.scan.query"] = 1 },
        ["partner declines"] = new(StringComparer.Ordinal) { ["referrals.record.get"] = 1, ["referrals.record.replace"] = 1 },
        ["client withdraws"] = new(StringComparer.Ordinal) { ["referrals.record.get"] = 1, ["referrals.record.replace"] = 1, ["referrals.token.get"] = 1 },
        ["sweep: 1 sealed destroyed"] = new(StringComparer.Ordinal) { ["idempotency.delete"] = 3, ["idempotency.query"] = 1, ["referrals.record.replace"] = 1, ["referrals.scan.query"] = 2, ["servicebus.cbsTokens"] = 4, ["servicebus.receive"] = 4, ["servicebus.receiverLinks"] = 4 },
        ["sweep: 3 purged"] = new(StringComparer.Ordinal) { ["idempotency.query"] = 1, ["referrals.org.delete"] = 3, ["referrals.record.delete"] = 3, ["referrals.report.get"] = 3, ["referrals.report.insert"] = 3, ["referrals.scan.query"] = 2, ["referrals.token.delete"] = 3, ["servicebus.cbsTokens"] = 4, ["servicebus.receive"] = 4, ["servicebus.receiverLinks"] = 4 },
        ["report (3 purged, counters only)"] = new(StringComparer.Ordinal) { ["referrals.report.query"] = 1, ["referrals.scan.query"] = 1 },
        ["batch of 10: submit"] = new(StringComparer.Ordinal) { ["idempotency.insert"] = 10, ["referrals.org.insert"] = 10, ["referrals.record.get"] = 10, ["referrals.record.insert"] = 10, ["referrals.token.insert"] = 10, ["servicebus.send"] = 10 },
        ["batch of 10: dispatch (health timer)"] = new(StringComparer.Ordinal) { ["referrals.record.get"] = 10, ["referrals.record.replace"] = 10, ["sendgrid.partner"] = 10, ["servicebus.cbsTokens"] = 1, ["servicebus.complete"] = 10, ["servicebus.receive"] = 11, ["servicebus.receiverLinks"] = 1 },
        ["batch of 10: sweep, 20 notifications"] = new(StringComparer.Ordinal) { ["idempotency.query"] = 1, ["referrals.record.get"] = 10, ["referrals.record.replace"] = 10, ["referrals.scan.query"] = 2, ["sendgrid.organisation"] = 20, ["servicebus.cbsTokens"] = 4, ["servicebus.receive"] = 4, ["servicebus.receiverLinks"] = 4 },
        ["batch of 10: organisation lists (10 referrals)"] = new(StringComparer.Ordinal) { ["referrals.org.query"] = 1, ["referrals.record.get"] = 10 },
        ["batch of 10: report (10 stored)"] = new(StringComparer.Ordinal) { ["referrals.report.query"] = 1, ["referrals.scan.query"] = 1 },
        ["batch of 10: sweep, 10 purged"] = new(StringComparer.Ordinal) { ["idempotency.delete"] = 10, ["idempotency.query"] = 1, ["referrals.org.delete"] = 10, ["referrals.record.delete"] = 10, ["referrals.report.get"] = 10, ["referrals.report.replace"] = 10, ["referrals.scan.query"] = 2, ["referrals.token.delete"] = 10, ["servicebus.cbsTokens"] = 4, ["servicebus.receive"] = 4, ["servicebus.receiverLinks"] = 4 },
        ["dispatch, SendGrid down (its SDK tries 3 times; message left locked)"] = new(StringComparer.Ordinal) { ["referrals.record.get"] = 1, ["sendgrid.partner"] = 3, ["servicebus.cbsTokens"] = 1, ["servicebus.receive"] = 2, ["servicebus.receiverLinks"] = 1 },
        ["dispatch, the next minute (the message back, delivered)"] = new(StringComparer.Ordinal) { ["referrals.record.get"] = 1, ["referrals.record.replace"] = 1, ["sendgrid.partner"] = 1, ["servicebus.cbsTokens"] = 1, ["servicebus.complete"] = 1, ["servicebus.receive"] = 2, ["servicebus.receiverLinks"] = 1 },
        ["sweep: 1 expired dead letter purged, its referral marked, 2 notifications"] = new(StringComparer.Ordinal) { ["idempotency.query"] = 1, ["referrals.record.get"] = 3, ["referrals.record.replace"] = 3, ["referrals.scan.query"] = 2, ["sendgrid.organisation"] = 2, ["servicebus.cbsTokens"] = 4, ["servicebus.complete"] = 1, ["servicebus.receive"] = 5, ["servicebus.receiverLinks"] = 4 },
    };

    [Fact]
    public async Task Each_step_of_a_referrals_life_takes_no_more_Table_Service_Bus_and_SendGrid_operations_than_its_budget()
    {
        var tables = new TableOperationCounter();
        var clientOptions = new TableClientOptions();
        clientOptions.AddPolicy(tables, HttpPipelinePosition.PerRetry);
        AzureBroker? created = null;
        await using var webhook = await WebhookReceiver.StartAsync(() => created!.Time.GetUtcNow());
        using var broker = created = new AzureBroker(azurite, webhook.Url, settings: new Dictionary<string, string?>
        {
            // The directory's own refresh (every 30 s per instance) is counted as a step of its own, not inside
            // others: with retention periods this short (the counts do not depend on them), the clock never reaches it.
            ["Broker:Directory:RefreshInterval"] = "24.00:00:00",
            ["Broker:Retention:SealedAfterAcceptance"] = "2.00:00:00",
            ["Broker:Retention:StatusAfterClose"] = "5.00:00:00",
        }, services: b => services => UseCountedTables(services, b.Tables, clientOptions));
        var measured = new Dictionary<string, IReadOnlyDictionary<string, int>>(StringComparer.Ordinal);
        var counters = new Counters(tables, broker);

        var elapsed = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        async Task<T> Step<T>(string name, Func<Task<T>> action)
        {
            var before = await counters.ReadAsync();
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var result = await action();
            elapsed[name] = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            measured.Add(name, Counters.Difference(await counters.ReadAsync(), before));
            return result;
        }

        Task Measure(string name, Func<Task> action) => Step(name, async () =>
        {
            await action();
            return true;
        });

        await Measure("instance start: directory seeded", () => Task.FromResult(broker.App.Services));
        var organisation = broker.App.Organisation();
        var anyone = broker.App.CreateClient();
        // The first use of each table creates it (once per instance): out of every step below.
        await SweepAsync(broker);
        await TickAsync(broker);
        Assert.Equal(HttpStatusCode.NotFound, (await anyone.PostAsJsonAsync("/api/status", new { token = StatusToken.Generate() })).StatusCode);

        await Measure("idle: dispatch tick (4 timers)", () => TickAsync(broker));
        await Measure("idle: sweep", () => SweepAsync(broker));
        await Measure("directory refresh (per instance and RefreshInterval)",
            () => broker.App.Services.GetRequiredService<StoredNetworkDirectory>().RefreshAsync(CancellationToken.None));

        // One referral, accepted, in progress, completed, its sealed details destroyed and purged.
        var submitted = await Step("submit with Idempotency-Key", () => SubmitAsync(organisation, "life-1"));
        await Measure("dispatch (health timer, 1 message)", () => broker.RunDispatchTimerAsync("health"));
        var link = AzureBroker.LinkInMail(Assert.Single(broker.Mails, m => m.BodyText.Contains(AzureBroker.PartnerEmail, StringComparison.Ordinal)));
        var partner = broker.App.Partner(link);
        var url = $"/api/partner/referrals/{link.ReferralId}";
        await Measure("status check (client, API)", async () => Assert.Equal(HttpStatusCode.OK, (await anyone.PostAsJsonAsync("/api/status", new { token = submitted.StatusToken })).StatusCode));
        await Measure("status check (unknown token)", async () => Assert.Equal(HttpStatusCode.NotFound, (await anyone.PostAsJsonAsync("/api/status", new { token = StatusToken.Generate() })).StatusCode));
        await Measure("partner opens the referral", async () => Assert.Equal(HttpStatusCode.OK, (await partner.GetAsync(url)).StatusCode));
        await Measure("partner accepts", async () => Assert.Equal(HttpStatusCode.OK, (await partner.PostAsync($"{url}/accept", null)).StatusCode));
        await Measure("sweep: 2 notifications (delivered, accepted)", () => SweepAsync(broker));
        await Measure("partner: in progress", async () => Assert.Equal(HttpStatusCode.OK, (await partner.PostAsJsonAsync($"{url}/progress", new { status = "in-progress" })).StatusCode));
        await Measure("partner: completed", async () => Assert.Equal(HttpStatusCode.OK, (await partner.PostAsJsonAsync($"{url}/progress", new { status = "completed" })).StatusCode));
        await Measure("sweep: 2 notifications (in progress, completed)", () => SweepAsync(broker));
        await Measure("organisation reads the referral", async () => Assert.Equal(HttpStatusCode.OK, (await organisation.GetAsync($"/api/referrals/{submitted.ReferralId}")).StatusCode));
        await Measure("organisation lists (1 referral)", async () => Assert.Equal(HttpStatusCode.OK, (await organisation.GetAsync("/api/referrals")).StatusCode));
        Report("entity sizes, 1 referral stored (completed, sealed details still held): " + await EntitySizesAsync(broker.Tables));
        await Measure("report (1 referral stored)", async () => Assert.Equal(HttpStatusCode.OK, (await organisation.GetAsync("/api/reports/summary")).StatusCode));

        // The other two endings, each its own referral: the partner declines, the client withdraws.
        await SubmitAsync(organisation, "life-2");
        var withdrawn = await SubmitAsync(organisation, "life-3");
        await broker.RunDispatchTimerAsync("health");
        var declined = PartnerMails(broker).Select(AzureBroker.LinkInMail).Single(l => l.ReferralId != link.ReferralId && l.ReferralId != withdrawn.ReferralId);
        await Measure("partner declines", async () => Assert.Equal(HttpStatusCode.OK,
            (await broker.App.Partner(declined).PostAsJsonAsync($"/api/partner/referrals/{declined.ReferralId}/decline", new { reason = "no-capacity" })).StatusCode));
        await Measure("client withdraws", async () => Assert.Equal(HttpStatusCode.OK, (await anyone.PostAsJsonAsync("/api/status/withdraw", new { token = withdrawn.StatusToken })).StatusCode));
        await SweepAsync(broker);

        // Retention: the accepted referral's sealed details go after SealedAfterAcceptance, all three after StatusAfterClose.
        broker.Time.Advance(TimeSpan.FromDays(3));
        await Measure("sweep: 1 sealed destroyed", () => SweepAsync(broker));
        broker.Time.Advance(TimeSpan.FromDays(3));
        await Measure("sweep: 3 purged", () => SweepAsync(broker));
        Report("entity sizes, all purged: " + await EntitySizesAsync(broker.Tables));
        await Measure("report (3 purged, counters only)", async () => Assert.Equal(HttpStatusCode.OK, (await organisation.GetAsync("/api/reports/summary")).StatusCode));

        // A batch of ten: what a drain and a sweep cost per referral when they carry many.
        var batch = new List<Submitted>();
        await Measure("batch of 10: submit", async () =>
        {
            for (var n = 0; n < Batch; n++)
            {
                batch.Add(await SubmitAsync(organisation, $"batch-{n}"));
            }
        });
        var mailsBefore = PartnerMails(broker).Count;
        await Measure("batch of 10: dispatch (health timer)", () => broker.RunDispatchTimerAsync("health"));
        var links = PartnerMails(broker).Skip(mailsBefore).Select(AzureBroker.LinkInMail).ToList();
        Assert.Equal(Batch, links.Count);
        foreach (var l in links)
        {
            Assert.Equal(HttpStatusCode.OK, (await broker.App.Partner(l).PostAsJsonAsync($"/api/partner/referrals/{l.ReferralId}/decline", new { reason = "no-capacity" })).StatusCode);
        }

        await Measure("batch of 10: sweep, 20 notifications", () => SweepAsync(broker));
        await Measure("batch of 10: organisation lists (10 referrals)", async () => Assert.Equal(HttpStatusCode.OK, (await organisation.GetAsync("/api/referrals")).StatusCode));
        await Measure("batch of 10: report (10 stored)", async () => Assert.Equal(HttpStatusCode.OK, (await organisation.GetAsync("/api/reports/summary")).StatusCode));
        broker.Time.Advance(TimeSpan.FromDays(6));
        await Measure("batch of 10: sweep, 10 purged", () => SweepAsync(broker));

        // The failure paths: SendGrid down for one drain (the message is left locked and comes back at the next),
        // and a dead letter kept past the message TTL (the sweep purges it and marks its referral deliveryFailed).
        await SubmitAsync(organisation, "life-4");
        broker.FailSendGrid(3);
        await Measure("dispatch, SendGrid down (its SDK tries 3 times; message left locked)", () => broker.RunDispatchTimerAsync("health"));
        await Measure("dispatch, the next minute (the message back, delivered)", () => broker.RunDispatchTimerAsync("health"));
        var lost = await SubmitAsync(organisation, "life-5");
        var lostMessage = (await broker.ServiceBus.ReceivedAsync()).Last(m => m.Outcome == "accepted" && !m.Duplicate);
        Assert.StartsWith(lost.ReferralId + ".", lostMessage.MessageId, StringComparison.Ordinal);
        await broker.ServiceBus.InjectAsync(FakeServiceBus.DeadLetterPath("health"), lost.ReferralId + ".dead", lostMessage.Body,
            new Dictionary<string, string> { ["referralId"] = lost.ReferralId, ["category"] = "health" }, BrokerApp.Start);
        await Measure("sweep: 1 expired dead letter purged, its referral marked, 2 notifications", () => SweepAsync(broker));

        foreach (var (step, counts) in measured)
        {
            Report($"{step} ({elapsed[step].TotalMilliseconds:F0} ms here): {string.Join(", ", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}"))}");
        }

        Report($"table batch sizes: [{string.Join(", ", tables.BatchSizes)}]");
        var (raised, lowered) = Judge(measured);
        lowered.ForEach(line => output.WriteLine("Lower the budget: " + line));
        Assert.True(raised.Count == 0, "Operations per referral went up:\n" + string.Join('\n', raised)
            + "\nMeasured (paste into Budget if the rise is meant):\n" + BudgetText(measured));
    }

    /// <summary>
    /// Reported, not budgeted: how many deliveries the SDK's receive calls took and handed back unasked depends on
    /// timing (a call returns with the first messages, and what arrives on its credit after that is released), and so
    /// do the flows by which it takes back unused credit. None of them is an API call of its own.
    /// </summary>
    private static readonly HashSet<string> Unbudgeted = new(StringComparer.Ordinal) { "servicebus.delivered", "servicebus.release", "servicebus.drain" };

    /// <summary>Budgets that are upper bounds (see the remarks on <see cref="Budget"/>): coming in under them is not news.</summary>
    private static readonly HashSet<(string Step, string Operation)> UpperBounds = [("batch of 10: dispatch (health timer)", "servicebus.receive")];

    /// <summary>What went over the budget (and steps it does not know), and what came in under it.</summary>
    private static (List<string> Raised, List<string> Lowered) Judge(IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> measured)
    {
        List<string> raised = [], lowered = [];
        foreach (var (step, counts) in measured)
        {
            if (!Budget.TryGetValue(step, out var allowed))
            {
                raised.Add($"step '{step}' has no budget");
                continue;
            }

            foreach (var operation in counts.Keys.Union(allowed.Keys).Except(Unbudgeted).Order(StringComparer.Ordinal))
            {
                var (used, limit) = (counts.GetValueOrDefault(operation), allowed.GetValueOrDefault(operation));
                if (used > limit)
                {
                    raised.Add($"step '{step}': {operation} = {used}, budget {limit}");
                }
                else if (used < limit && !UpperBounds.Contains((step, operation)))
                {
                    lowered.Add($"step '{step}': {operation} = {used}, budget {limit}");
                }
            }
        }

        raised.AddRange(Budget.Keys.Except(measured.Keys).Select(step => $"step '{step}' was not measured"));
        return (raised, lowered);
    }

    private static string BudgetText(IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> measured) =>
        string.Join('\n', measured.Select(s => $"[\"{s.Key}\"] = new(StringComparer.Ordinal) {{ " +
            string.Join(", ", s.Value.Where(c => !Unbudgeted.Contains(c.Key)).OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"[\"{c.Key}\"] = {c.Value}")) + " },"));

    /// <summary>The three Table stores as the hosting builds them, with the counting policy in their pipelines.</summary>
    private static void UseCountedTables(IServiceCollection services, TableStorageOptions options, TableClientOptions clientOptions)
    {
        services.AddSingleton(sp => new TableReferralStore(options, null, clientOptions, sp.GetRequiredService<ILogger<TableReferralStore>>()));
        services.AddSingleton<IIdempotencyStore>(new TableIdempotencyStore(options, null, clientOptions));
        services.AddSingleton<IDirectoryStore>(sp => new SealedSecretsDirectoryStore(
            new TableDirectoryStore(options, null, clientOptions), sp.GetRequiredService<Pepper>()));
    }

    /// <summary>
    /// The billable size of the stored entities by kind, by the Table service's published formula: 4 bytes, the keys
    /// at 2 bytes a character, and per property 8 bytes, its name at 2 bytes a character and its value (a string
    /// 4 + 2 a character, a DateTime or Int64 8, an Int32 4, a bool 1).
    /// </summary>
    private static async Task<string> EntitySizesAsync(TableStorageOptions options)
    {
        var service = new TableServiceClient(options.Endpoint, new TableSharedKeyCredential(options.AccountName, options.AccountKey));
        var sizes = new List<(string Kind, int Bytes)>();
        foreach (var table in new[] { "referrals", "idempotency", "directory" })
        {
            await foreach (var entity in service.GetTableClient(options.TablePrefix + table).QueryAsync<TableEntity>())
            {
                var bytes = 4 + (entity.PartitionKey.Length + entity.RowKey.Length) * 2;
                foreach (var (name, value) in entity.Where(p => p.Key is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag")))
                {
                    bytes += 8 + name.Length * 2 + value switch
                    {
                        string text => 4 + text.Length * 2,
                        int => 4,
                        bool => 1,
                        byte[] binary => 4 + binary.Length,
                        _ => 8,
                    };
                }

                var kind = table != "referrals" ? table
                    : entity.RowKey == "referral" ? "record"
                    : entity.RowKey == "token" ? "token"
                    : entity.PartitionKey.StartsWith("org:", StringComparison.Ordinal) ? "org"
                    : "report";
                sizes.Add((kind, bytes));
            }
        }

        return string.Join(", ", sizes.GroupBy(s => s.Kind).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} n={g.Count()} avg={g.Average(s => s.Bytes).ToString("F0", CultureInfo.InvariantCulture)} B max={g.Max(s => s.Bytes)} B"));
    }

    private static async Task<Submitted> SubmitAsync(HttpClient organisation, string idempotencyKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals")
        {
            Content = new StringContent(BrokerApp.Referral().GetRawText(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        var response = await organisation.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<Submitted>())!;
    }

    private static List<StubRequest> PartnerMails(AzureBroker broker) =>
        [.. broker.AcceptedMails.Where(m => m.BodyText.Contains(AzureBroker.PartnerEmail, StringComparison.Ordinal))];

    /// <summary>One minute's dispatch: the four timer functions of the Functions project, one after the other.</summary>
    private static async Task TickAsync(AzureBroker broker)
    {
        foreach (var category in new[] { "health", "legal", "employment", "other" })
        {
            await broker.RunDispatchTimerAsync(category);
        }
    }

    /// <summary>The Functions project's Sweep timer function, activated as the worker does.</summary>
    private static Task SweepAsync(AzureBroker broker) =>
        ActivatorUtilities.CreateInstance<ReferralBroker.Functions.TimerFunctions>(broker.App.Services)
            .Sweep(new Microsoft.Azure.Functions.Worker.TimerInfo(), CancellationToken.None);

    private void Report(string line) => Figures.Report(output, "Azure operations", line);

    /// <summary>All three counts at one moment: Table requests, Service Bus operations, SendGrid mails by recipient.</summary>
    private sealed class Counters(TableOperationCounter tables, AzureBroker broker)
    {
        public async Task<IReadOnlyDictionary<string, int>> ReadAsync()
        {
            var all = new Dictionary<string, int>(tables.Snapshot(), StringComparer.Ordinal);
            foreach (var (operation, count) in await broker.ServiceBus.OperationsAsync())
            {
                all["servicebus." + operation] = count;
            }

            var mails = broker.Mails;
            all["sendgrid.partner"] = mails.Count(m => m.BodyText.Contains(AzureBroker.PartnerEmail, StringComparison.Ordinal));
            all["sendgrid.organisation"] = mails.Count(m => m.BodyText.Contains(AzureBroker.NotificationEmail, StringComparison.Ordinal));
            all["sendgrid.other"] = mails.Count - all["sendgrid.partner"] - all["sendgrid.organisation"];
            return all;
        }

        public static Dictionary<string, int> Difference(IReadOnlyDictionary<string, int> after, IReadOnlyDictionary<string, int> before) =>
            after.Select(a => (a.Key, Count: a.Value - before.GetValueOrDefault(a.Key)))
                .Where(d => d.Count != 0)
                .ToDictionary(d => d.Key, d => d.Count, StringComparer.Ordinal);
    }
}
