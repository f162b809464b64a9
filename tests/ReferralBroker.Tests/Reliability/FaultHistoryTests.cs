using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ReferralBroker.Embedded;
using ReferralBroker.Tests.Integration;
using Xunit.Abstractions;

namespace ReferralBroker.Tests.Reliability;

/// <summary>
/// In the spirit of Jepsen: thousands of referrals through the embedded broker while processes crash between
/// any two steps, the store fails or times out (sometimes after writing), the mail provider fails and messages
/// are redelivered. Then the whole history is checked, and the broker is seized and searched.
/// </summary>
public sealed class FaultHistoryTests(ITestOutputHelper output)
{
    public const int Seed = 20261123;

    /// <summary>Limits out of the way: this run is about faults, not abuse (the rate limit tests cover that).</summary>
    public static readonly Dictionary<string, string?> Unthrottled = new()
    {
        ["Broker:RateLimits:StatusPerMinute"] = "1000000",
        ["Broker:RateLimits:PartnerPerMinute"] = "1000000",
        ["Broker:RateLimits:GlobalMissesPerMinute"] = "1000000",
    };

    [Fact]
    public async Task No_acknowledged_referral_is_lost_or_emailed_twice_and_a_seized_broker_yields_nothing()
    {
        var referrals = int.TryParse(Environment.GetEnvironmentVariable("REFERRALBROKER_FAULT_REFERRALS"), out var n) ? n : 2000;
        // On tmpfs when there is one: the run is about the broker's logic, not the disk's fsync latency.
        var dataPath = Directory.Exists("/dev/shm")
            ? Directory.CreateDirectory(Path.Combine("/dev/shm", $"broker-faults-{Guid.NewGuid():N}")).FullName
            : Directory.CreateTempSubdirectory("broker-faults-").FullName;
        var time = new FakeTimeProvider(BrokerApp.Start);
        var plan = new FaultPlan(Seed);
        // One development mailbox for every instance of the run, as one mail server would serve a broker that crashed.
        var mailbox = new DevelopmentMailbox(Path.Combine(dataPath, "mail"), "referrals@broker.example.org", time,
            NullLogger<DevelopmentMailbox>.Instance);
        using var run = new FaultRun(plan, instance => new BrokerApp(dataPath, time: time, settings: Unthrottled, services: services =>
        {
            services.AddSingleton(new MailMode(mailbox));
            plan.Inject(instance)(services);
        }), time);

        await run.RunAsync(referrals);
        await run.SettleAsync();
        var verdict = HistoryChecker.Check(run.Referrals, await run.FinalStatesAsync(), time.GetUtcNow());

        Report($"referrals={verdict.Referrals} faults={plan.Injected} (crashes={plan.Crashes} store={plan.StoreFailures} mail={plan.MailFailures}) " +
            $"restarts={run.Restarts} markedForResending={verdict.MarkedForResending} " +
            $"lost={verdict.Lost} duplicatedEmails={verdict.DuplicatedEmails} inconsistentStatuses={verdict.InconsistentStatuses} seed={Seed}");
        foreach (var problem in verdict.Problems.Take(20))
        {
            Report(problem);
        }

        Assert.True(verdict.Referrals >= referrals * 9 / 10, "Too few referrals were acknowledged for the run to mean anything.");
        Assert.True(plan.Crashes > 10 && plan.StoreFailures > 100 && plan.MailFailures > 10, "The run injected too few faults.");
        Assert.Equal((0, 0, 0), (verdict.Lost, verdict.DuplicatedEmails, verdict.InconsistentStatuses));

        var seizure = Seizure.Search(run, dataPath);
        Report($"development mailbox, whole data folder: {seizure}");
        Assert.True(seizure.MailFiles > referrals / 2, "The development mailbox's files were not where the seizure looked.");
        run.Dispose();
        // tmpfs is memory: leave nothing behind.
        Directory.Delete(dataPath, recursive: true);
        Assert.Equal(0, seizure.Hits);
    }

    [Fact]
    public void The_seizure_search_finds_a_planted_needle_in_UTF8_UTF16_and_raw_bytes()
    {
        var needles = new Seizure.Needles([Encoding.UTF8.GetBytes("MARK42"), Encoding.Unicode.GetBytes("MARK42"), [1, 2, 3, 250]]);
        Assert.True(needles.AnyIn(Encoding.UTF8.GetBytes("..xx MARK42 yy..")));
        Assert.True(needles.AnyIn(Encoding.Unicode.GetBytes("..xx MARK42 yy..")));
        Assert.True(needles.AnyIn([9, 9, 1, 2, 3, 250, 9]));
        Assert.False(needles.AnyIn(Encoding.UTF8.GetBytes("..xx MARK41 yy.. MARK4")));
    }

    private void Report(string line) => Figures.Report(output, "fault run (SQLite)", line);
}
