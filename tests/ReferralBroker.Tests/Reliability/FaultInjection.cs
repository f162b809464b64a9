using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;

namespace ReferralBroker.Tests.Reliability;

/// <summary>
/// The process dying at this point: nothing after it runs in this instance. An OperationCanceledException so that
/// the dispatch pump lets it through as it would a shutdown, leaving its lease for redelivery.
/// </summary>
public sealed class SimulatedCrashException() : OperationCanceledException("Simulated crash");

/// <summary>A store that answered 503/429 or timed out; the write may or may not have happened.</summary>
public sealed class InjectedStoreFailureException(string kind) : Exception($"Injected store failure: {kind}");

/// <summary>
/// Seeded, reproducible faults at the ports: each call may crash the process or fail, before or after the real
/// call (a timeout after the write happened is the nasty case). One plan drives every instance of a run.
/// </summary>
public sealed class FaultPlan(int seed)
{
    private readonly Random _random = new(seed);
    private readonly Lock _lock = new();

    public double CrashChance { get; set; } = 0.0008;
    public double StoreFailureChance { get; set; } = 0.02;
    public double MailFailureChance { get; set; } = 0.1;
    public bool Healed { get; private set; }

    public int Crashes { get; private set; }
    public int StoreFailures { get; private set; }
    public int MailFailures { get; private set; }
    public int Injected => Crashes + StoreFailures + MailFailures;

    public void Heal() => Healed = true;

    public int Next(int max)
    {
        lock (_lock)
        {
            return _random.Next(max);
        }
    }

    /// <summary>Whether to inject now, counting it; <paramref name="chance"/> is per call.</summary>
    private bool Roll(double chance)
    {
        lock (_lock)
        {
            return !Healed && _random.NextDouble() < chance;
        }
    }

    internal void MaybeCrash(Instance instance)
    {
        instance.ThrowIfDead();
        if (Roll(CrashChance))
        {
            lock (_lock)
            {
                Crashes++;
            }

            instance.Die();
        }
    }

    internal void MaybeFailStore()
    {
        if (Roll(StoreFailureChance))
        {
            lock (_lock)
            {
                StoreFailures++;
            }

            throw new InjectedStoreFailureException(Next(3) switch { 0 => "503 Server Busy", 1 => "429 Too Many Requests", _ => "timeout" });
        }
    }

    internal void MaybeFailMail()
    {
        if (Roll(MailFailureChance))
        {
            lock (_lock)
            {
                MailFailures++;
            }

            throw new TransientDeliveryException(Next(3) switch { 0 => "502 from the provider", 1 => "429 from the provider", _ => "timeout" });
        }
    }

    /// <summary>Around a real call: crash or fail before it, or after it (the effect happened, the caller never knows).</summary>
    internal async Task<T> AroundAsync<T>(Instance instance, Func<Task<T>> call, Action fail)
    {
        MaybeCrash(instance);
        fail();
        var result = await call();
        MaybeCrash(instance);
        if (Next(2) == 0)
        {
            fail();
        }

        return result;
    }

    /// <summary>One process of the run: once it died, every further call through it dies too.</summary>
    public sealed class Instance
    {
        public bool Dead { get; private set; }

        internal void Die()
        {
            Dead = true;
            throw new SimulatedCrashException();
        }

        internal void ThrowIfDead()
        {
            if (Dead)
            {
                throw new SimulatedCrashException();
            }
        }
    }

    /// <summary>Wraps the broker's ports of one app instance in this plan's faults.</summary>
    public Action<IServiceCollection> Inject(Instance instance) => services =>
    {
        Decorate<IReferralStore>(services, inner => new FaultyStore(this, instance, inner));
        Decorate<IIdempotencyStore>(services, inner => new FaultyIdempotency(this, instance, inner));
        Decorate<IReferralIntake>(services, inner => new FaultyIntake(this, instance, inner));
        Decorate<IMailSender>(services, inner => new FaultyMail(this, instance, inner));
    };

    private static void Decorate<T>(IServiceCollection services, Func<T, T> wrap) where T : class
    {
        var original = services.Last(d => d.ServiceType == typeof(T));
        services.Remove(original);
        services.AddSingleton(sp => wrap((T)(original.ImplementationInstance
            ?? original.ImplementationFactory?.Invoke(sp)
            ?? ActivatorUtilities.CreateInstance(sp, original.ImplementationType!))));
    }

    private sealed class FaultyStore(FaultPlan plan, Instance instance, IReferralStore inner) : IReferralStore
    {
        public Task<bool> TryCreateAsync(ReferralRecord record, CancellationToken ct) =>
            plan.AroundAsync(instance, () => inner.TryCreateAsync(record, ct), plan.MaybeFailStore);

        public Task<Versioned<ReferralRecord>?> FindAsync(string referralId, CancellationToken ct) =>
            plan.AroundAsync(instance, () => inner.FindAsync(referralId, ct), plan.MaybeFailStore);

        public Task<TokenMatch?> FindByTokenHashAsync(string tokenHash, CancellationToken ct) =>
            plan.AroundAsync(instance, () => inner.FindByTokenHashAsync(tokenHash, ct), plan.MaybeFailStore);

        public Task<WriteOutcome> TryReplaceAsync(ReferralRecord record, string expectedVersion, CancellationToken ct) =>
            plan.AroundAsync(instance, () => inner.TryReplaceAsync(record, expectedVersion, ct), plan.MaybeFailStore);

        public Task<WriteOutcome> TryDeleteAsync(string referralId, string expectedVersion, CancellationToken ct) =>
            plan.AroundAsync(instance, () => inner.TryDeleteAsync(referralId, expectedVersion, ct), plan.MaybeFailStore);

        public IAsyncEnumerable<Versioned<ReferralRecord>> FindDueAsync(DateTimeOffset now, CancellationToken ct) =>
            AroundEach(inner.FindDueAsync(now, ct));

        public IAsyncEnumerable<Versioned<ReferralRecord>> FindNotificationsDueAsync(DateTimeOffset now, CancellationToken ct) =>
            AroundEach(inner.FindNotificationsDueAsync(now, ct));

        public Task<ReferralPage> ListAsync(ReferralQuery query, CancellationToken ct) =>
            plan.AroundAsync(instance, () => inner.ListAsync(query, ct), plan.MaybeFailStore);

        private async IAsyncEnumerable<Versioned<ReferralRecord>> AroundEach(IAsyncEnumerable<Versioned<ReferralRecord>> records)
        {
            plan.MaybeCrash(instance);
            plan.MaybeFailStore();
            await foreach (var record in records)
            {
                plan.MaybeCrash(instance);
                yield return record;
            }
        }
    }

    private sealed class FaultyIdempotency(FaultPlan plan, Instance instance, IIdempotencyStore inner) : IIdempotencyStore
    {
        public Task<IdempotencyRecord> GetOrAddAsync(IdempotencyRecord record, CancellationToken ct) =>
            plan.AroundAsync(instance, () => inner.GetOrAddAsync(record, ct), plan.MaybeFailStore);

        public Task<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken ct) =>
            plan.AroundAsync(instance, () => inner.PurgeExpiredAsync(now, ct), plan.MaybeFailStore);
    }

    private sealed class FaultyIntake(FaultPlan plan, Instance instance, IReferralIntake inner) : IReferralIntake
    {
        public Task<bool> TryCreateAndEnqueueAsync(ReferralRecord record, DispatchMessage message, CancellationToken ct) =>
            plan.AroundAsync(instance, () => inner.TryCreateAndEnqueueAsync(record, message, ct), plan.MaybeFailStore);

        public Task<WriteOutcome> TryReplaceAndEnqueueAsync(ReferralRecord record, string expectedVersion, DispatchMessage message, CancellationToken ct) =>
            plan.AroundAsync(instance, () => inner.TryReplaceAndEnqueueAsync(record, expectedVersion, message, ct), plan.MaybeFailStore);
    }

    private sealed class FaultyMail(FaultPlan plan, Instance instance, IMailSender inner) : IMailSender
    {
        public Task SendAsync(OutgoingMail mail, CancellationToken ct) =>
            plan.AroundAsync(instance, async () =>
            {
                await inner.SendAsync(mail, ct);
                return true;
            }, plan.MaybeFailMail);
    }
}
