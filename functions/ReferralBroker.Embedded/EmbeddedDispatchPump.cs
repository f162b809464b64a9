using System.Collections.Concurrent;
using ReferralBroker.Hosting;
using ReferralBroker.Referrals;

namespace ReferralBroker.Embedded;

/// <summary>Runs the dispatcher over the embedded queue, the way the Service Bus trigger does in Azure.</summary>
internal sealed partial class EmbeddedDispatchPump(
    SqliteReferralQueue queue,
    ReferralDispatcher dispatcher,
    ReferralService referrals,
    QueueOptions options,
    ILogger<EmbeddedDispatchPump> logger) : BackgroundService
{
    // A batch is leased in one write and completed in one; its messages are emailed a few at a time, so one
    // slow email does not hold up the others and their reads and writes overlap.
    private const int BatchSize = 128;
    private const int Parallelism = 32;

    /// <summary>Dispatches every message available now; returns how many were taken off the queue.</summary>
    public async Task<int> DrainAsync(CancellationToken cancellationToken)
    {
        var taken = 0;
        while (await queue.TryReceiveBatchAsync(BatchSize, cancellationToken) is { Count: > 0 } batch)
        {
            taken += batch.Count;
            var handled = new ConcurrentBag<long>();
            await Parallel.ForEachAsync(batch, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
                async (leased, ct) =>
                {
                    if (await DispatchAsync(leased, ct))
                    {
                        handled.Add(leased.Sequence);
                    }
                });
            await queue.CompleteAsync(handled, cancellationToken);
        }

        return taken;
    }

    /// <summary>
    /// True when the message is done with (emailed, refused for good, or given up on, the last two with their referral
    /// marked); false when it is left for a retry. A refusal for good is marked by the dispatcher itself and returns.
    /// </summary>
    private async Task<bool> DispatchAsync(LeasedMessage leased, CancellationToken cancellationToken)
    {
        try
        {
            await dispatcher.DispatchAsync(leased.Message, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (leased.DeliveryCount >= options.MaxDeliveryCount)
            {
                // Nobody will read a dead-lettered link secret; dropping it is the embedded dead-letter queue.
                // Marked before the message goes: if marking fails, the message comes back after its lock to be
                // marked again, and a referral is never left "submitted" with nothing left to send it.
                LogGaveUp(logger, leased.Message.ReferralId, leased.DeliveryCount, e.GetType().Name);
                try
                {
                    await referrals.MarkUndeliverableAsync(leased.Message.ReferralId, cancellationToken);
                    return true;
                }
                catch (Exception markFailure) when (markFailure is not OperationCanceledException)
                {
                    LogMarkFailed(logger, leased.Message.ReferralId, markFailure.GetType().Name);
                    return false;
                }
            }

            LogWillRetry(logger, leased.Message.ReferralId, leased.DeliveryCount, e.GetType().Name);
            await queue.AbandonAsync(leased.Sequence, Backoff(leased.DeliveryCount), cancellationToken);
            return false;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.RunDispatcher)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await DrainAsync(stoppingToken);
                await queue.WaitForWorkAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A store failing mid-drain must not stop the host: leased messages come back after their lock.
                LogDrainFailed(logger, e.GetType().Name);
                await Task.Delay(options.PollInterval, stoppingToken);
            }
        }
    }

    private static TimeSpan Backoff(int deliveryCount) => TimeSpan.FromSeconds(Math.Min(300, Math.Pow(2, deliveryCount)));

    [LoggerMessage(Level = LogLevel.Error, Message = "Dispatching stopped ({Error}); trying again after the poll interval")]
    private static partial void LogDrainFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Marking referral {ReferralId} undeliverable failed ({Error}); its message comes back after its lock")]
    private static partial void LogMarkFailed(ILogger logger, string referralId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dispatch of referral {ReferralId} failed (attempt {Attempt}, {Error}); will retry")]
    private static partial void LogWillRetry(ILogger logger, string referralId, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Dispatch of referral {ReferralId} failed {Attempt} times ({Error}); message dropped and the referral marked for the organisation to send again")]
    private static partial void LogGaveUp(ILogger logger, string referralId, int attempt, string error);
}
