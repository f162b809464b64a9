using ReferralBroker.Referrals;

namespace ReferralBroker.Hosting;

/// <summary>
/// Runs <see cref="StaffKeyUses.RecordAsync"/> for the life of the host, in both hostings. On stop it lets what is
/// queued be written, for as long as the host allows its services to stop.
/// </summary>
internal sealed class StaffUseRecorder(StaffKeyUses uses) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _giveUp = new();
    private Task _running = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _running = Task.Run(() => uses.RecordAsync(_giveUp.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        uses.Complete();
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
