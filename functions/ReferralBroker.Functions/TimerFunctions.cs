using Microsoft.Azure.Functions.Worker;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;

namespace ReferralBroker.Functions;

/// <summary>
/// Dispatch and sweep on timers. The worker's Service Bus trigger cannot be used yet (its extension is not
/// available to this build), so each category's subscription is drained by the receiving port once per
/// %DispatchSchedule%, bounded in messages and time (README: what this costs on Flex Consumption). The inbox logs
/// what a drain did, only when it received anything: four timers a minute would otherwise log all day.
/// </summary>
internal sealed partial class TimerFunctions(IDispatchInbox inbox, ScheduledSweep sweep, ILogger<TimerFunctions> logger)
{
    [Function("DispatchHealth")]
    public Task DispatchHealth([TimerTrigger("%DispatchSchedule%")] TimerInfo timer, CancellationToken ct) => inbox.DrainAsync("health", ct);

    [Function("DispatchLegal")]
    public Task DispatchLegal([TimerTrigger("%DispatchSchedule%")] TimerInfo timer, CancellationToken ct) => inbox.DrainAsync("legal", ct);

    [Function("DispatchEmployment")]
    public Task DispatchEmployment([TimerTrigger("%DispatchSchedule%")] TimerInfo timer, CancellationToken ct) => inbox.DrainAsync("employment", ct);

    [Function("DispatchOther")]
    public Task DispatchOther([TimerTrigger("%DispatchSchedule%")] TimerInfo timer, CancellationToken ct) => inbox.DrainAsync("other", ct);

    [Function("Sweep")]
    public async Task Sweep([TimerTrigger("%SweepSchedule%")] TimerInfo timer, CancellationToken ct)
    {
        var (swept, marked, notified) = await sweep.RunAsync(ct);
        LogSwept(logger, swept.Expired, swept.SealedDestroyed, swept.Purged, swept.IdempotencyPurged, marked, notified);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep: {Expired} expired, {SealedDestroyed} sealed destroyed, {Purged} purged, {IdempotencyPurged} idempotency keys forgotten, {Marked} dead-lettered referrals marked, {Notified} notifications attempted")]
    private static partial void LogSwept(ILogger logger, int expired, int sealedDestroyed, int purged, int idempotencyPurged, int marked, int notified);
}
