namespace ReferralBroker.Embedded;

/// <summary>
/// Checkpoints and truncates the SQLite write-ahead log soon after writes, so what was deleted or overwritten
/// (dispatched link secrets, destroyed ciphertext) stays in the log file for at most one interval.
/// </summary>
internal sealed partial class SqliteCheckpointService(
    SqliteDatabase database,
    TimeSpan interval,
    TimeProvider time,
    ILogger<SqliteCheckpointService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (!database.HasUncheckpointedWrites)
            {
                continue;
            }

            try
            {
                await database.CheckpointAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogCheckpointFailed(logger, e.GetType().Name);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Checkpointing the write-ahead log failed ({Error}); trying again at the next tick")]
    private static partial void LogCheckpointFailed(ILogger logger, string error);
}
