using Microsoft.Extensions.Options;
using ReferralBroker.Hosting;

namespace ReferralBroker.Gate;

/// <summary>
/// The broker-wide budget against guessing tokens and capabilities from many addresses at once. It counts only
/// misses (lookups answered 404), because a guesser almost only misses while a client with her real token hits.
/// Once the budget of a window is spent, addresses that missed in that window get 429 until it ends; an address
/// that has not missed (a client typing her token right) still gets through. Kept in memory only; addresses are
/// never stored or logged, and are forgotten at the end of each window.
/// </summary>
internal sealed class GuessingBudget(IOptions<BrokerOptions> options, TimeProvider time)
{
    /// <summary>Bounds the memory a flood of addresses can take; beyond it, new addresses are not remembered.</summary>
    private const int MaxRememberedAddresses = 100_000;
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly HashSet<string> _missedBy = [];
    private DateTimeOffset _windowEnds = DateTimeOffset.MinValue;
    private int _misses;

    /// <summary>How long this address must wait, or null when it may ask.</summary>
    public TimeSpan? WaitFor(string address)
    {
        lock (_lock)
        {
            var now = Roll();
            return _misses >= options.Value.RateLimits.GlobalMissesPerMinute && _missedBy.Contains(address) ? _windowEnds - now : null;
        }
    }

    public void RecordMiss(string address)
    {
        lock (_lock)
        {
            Roll();
            _misses++;
            if (_missedBy.Count < MaxRememberedAddresses)
            {
                _missedBy.Add(address);
            }
        }
    }

    private DateTimeOffset Roll()
    {
        var now = time.GetUtcNow();
        if (now >= _windowEnds)
        {
            _windowEnds = now + Window;
            _misses = 0;
            _missedBy.Clear();
        }

        return now;
    }
}
