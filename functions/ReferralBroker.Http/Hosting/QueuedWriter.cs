namespace ReferralBroker.Hosting;

/// <summary>
/// Writes what requests queued without waiting for it (a duress code's use, a staff key's last use) for the life of
/// the host, in both hostings: <paramref name="run"/> drains the queue until <paramref name="complete"/> closes it. On
/// stop it lets what is queued be written, for as long as the host allows its services to stop.
/// </summary>
internal sealed class QueuedWriter(Func<CancellationToken, Task> run, Action complete) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _giveUp = new();
    private Task _running = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _running = Task.Run(() => run(_giveUp.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        complete();
        using (cancellationToken.Register(_giveUp.Cancel))
        {
            try
            {
                await _running.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The host waits no longer; a store call still hanging must not hold the stop.
            }
        }
    }

    public void Dispose() => _giveUp.Dispose();
}
