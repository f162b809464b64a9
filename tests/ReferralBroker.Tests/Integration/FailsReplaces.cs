using ReferralBroker.Ports;
using ReferralBroker.Referrals;

namespace ReferralBroker.Tests.Integration;

/// <summary>The store fails its first replaces (writing nothing), then works.</summary>
internal sealed class FailsReplaces(int failures)
{
    private int _replaces;

    public int Failed => Math.Min(Volatile.Read(ref _replaces), failures);

    private int Limit => failures;

    public IReferralStore Around(IReferralStore inner) => new Store(this, inner);

    private sealed class Store(FailsReplaces plan, IReferralStore inner) : IReferralStore
    {
        public Task<bool> TryCreateAsync(ReferralRecord record, CancellationToken ct) => inner.TryCreateAsync(record, ct);
        public Task<Versioned<ReferralRecord>?> FindAsync(string referralId, CancellationToken ct) => inner.FindAsync(referralId, ct);
        public Task<TokenMatch?> FindByTokenHashAsync(string tokenHash, CancellationToken ct) => inner.FindByTokenHashAsync(tokenHash, ct);
        public Task<WriteOutcome> TryDeleteAsync(string referralId, string expectedVersion, CancellationToken ct) => inner.TryDeleteAsync(referralId, expectedVersion, ct);
        public IAsyncEnumerable<Versioned<ReferralRecord>> FindDueAsync(DateTimeOffset now, CancellationToken ct) => inner.FindDueAsync(now, ct);
        public IAsyncEnumerable<Versioned<ReferralRecord>> FindNotificationsDueAsync(DateTimeOffset now, CancellationToken ct) => inner.FindNotificationsDueAsync(now, ct);
        public Task<ReferralPage> ListAsync(ReferralQuery query, CancellationToken ct) => inner.ListAsync(query, ct);

        public Task<WriteOutcome> TryReplaceAsync(ReferralRecord record, string expectedVersion, CancellationToken ct) =>
            Interlocked.Increment(ref plan._replaces) <= plan.Limit
                ? throw new TimeoutException("The store did not answer.")
                : inner.TryReplaceAsync(record, expectedVersion, ct);
    }
}
