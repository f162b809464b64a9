using Microsoft.Extensions.Options;
using ReferralBroker.Hosting;

namespace ReferralBroker.Gate;

/// <summary>
/// The broker-wide budget against guessing tokens and capabilities from many addresses at once. It counts only
/// misses (lookups answered 404), because a guesser almost only misses while a client with her real token hits.
/// Once the budget of a window is spent, callers that missed in that window get 429 until it ends; a caller that
/// has not missed (a client typing her token right) still gets through, and her miss, should she mistype, is
/// counted against a second budget of the same size. Once that one is spent too, a crowd of fresh addresses is
/// guessing, and every caller waits for the end of the window: the misses of a window are bounded by twice the
/// budget, however many addresses the guessers have. Callers are counted by <see cref="CallerPartition"/> (an
/// IPv6 caller as its /64 and its /48). Kept in memory only; addresses are never stored or logged, and are
/// forgotten at the end of each window.
/// </summary>
internal sealed class GuessingBudget(IOptions<BrokerOptions> options, TimeProvider time, int capacity = GuessingBudget.MaxRememberedCallers)
{
    /// <summary>
    /// Bounds the memory a flood of addresses can take. It fails closed: once full, a caller it does not hold is
    /// refused until the window ends, rather than slipping through unremembered or evicting another's miss.
    /// </summary>
    public const int MaxRememberedCallers = 100_000;
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly HashSet<string> _missedBy = [];
    private DateTimeOffset _windowEnds = DateTimeOffset.MinValue;
    private long _misses;

    /// <summary>How long this caller must wait, or null when it may ask.</summary>
    public TimeSpan? WaitFor(CallerPartition caller)
    {
        lock (_lock)
        {
            var now = Roll();
            long budget = options.Value.RateLimits.GlobalMissesPerMinute;
            var refused = _misses >= 2 * budget
                || (_misses >= budget && caller.Keys.Any(_missedBy.Contains))
                || (_missedBy.Count >= capacity && !caller.Keys.All(_missedBy.Contains));
            return refused ? _windowEnds - now : null;
        }
    }

    public void RecordMiss(CallerPartition caller)
    {
        lock (_lock)
        {
            Roll();
            _misses++;
            foreach (var key in caller.Keys)
            {
                if (_missedBy.Count < capacity)
                {
                    _missedBy.Add(key);
                }
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

/// <summary>
/// The clients' lookups (status tokens, on the API and the page) and the partners' (capabilities) spend budgets of
/// their own: a crowd guessing tokens, which can spend the clients' budget and make every client wait for the
/// window's end, does not also lock the partners out of their referrals, and the other way round.
/// </summary>
internal sealed class GuessingBudgets(GuessingBudget clients, GuessingBudget partners)
{
    public GuessingBudget For(Access access) => access == Access.Partner ? partners : clients;
}
