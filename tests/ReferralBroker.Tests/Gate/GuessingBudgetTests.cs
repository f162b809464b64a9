using System.Net;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ReferralBroker.Gate;
using ReferralBroker.Hosting;

namespace ReferralBroker.Tests.Gate;

/// <summary>The broker-wide budget of misses, on its own, on a fake clock.</summary>
public sealed class GuessingBudgetTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));

    private GuessingBudget Budget(int misses, int capacity = GuessingBudget.MaxRememberedCallers) =>
        new(Options.Create(new BrokerOptions { RateLimits = { GlobalMissesPerMinute = misses } }), _time, capacity);

    private static CallerPartition Caller(string address) => CallerPartition.Of(IPAddress.Parse(address));

    [Fact]
    public void Once_the_budget_is_spent_rotating_addresses_inside_a_64_or_across_64s_of_one_48_does_not_buy_a_fresh_guess()
    {
        var budget = Budget(misses: 2);
        budget.RecordMiss(Caller("2001:db8:1:2::1"));
        budget.RecordMiss(Caller("198.51.100.1"));

        Assert.NotNull(budget.WaitFor(Caller("2001:db8:1:2::1")));
        Assert.NotNull(budget.WaitFor(Caller("2001:db8:1:2::beef")));
        Assert.NotNull(budget.WaitFor(Caller("2001:db8:1:ffff::1")));
        Assert.NotNull(budget.WaitFor(Caller("::ffff:198.51.100.1")));
        // Another site, another IPv4 address: not held back by these.
        Assert.Null(budget.WaitFor(Caller("2001:db8:2::1")));
        Assert.Null(budget.WaitFor(Caller("198.51.100.2")));
    }

    [Fact]
    public void Once_the_second_budget_is_spent_too_even_never_seen_addresses_wait_until_the_minute_ends()
    {
        var budget = Budget(misses: 3);
        for (var i = 1; i <= 3; i++)
        {
            budget.RecordMiss(Caller($"198.51.100.{i}"));
        }

        // Spent: those who missed wait, a fresh address still asks, and its miss counts against the second budget.
        Assert.NotNull(budget.WaitFor(Caller("198.51.100.1")));
        for (var i = 4; i <= 6; i++)
        {
            Assert.Null(budget.WaitFor(Caller($"198.51.100.{i}")));
            budget.RecordMiss(Caller($"198.51.100.{i}"));
        }

        var wait = budget.WaitFor(Caller("203.0.113.99"));
        Assert.Equal(TimeSpan.FromMinutes(1), wait);
        _time.Advance(TimeSpan.FromSeconds(45));
        Assert.Equal(TimeSpan.FromSeconds(15), budget.WaitFor(Caller("2001:db8:9::1")));

        _time.Advance(TimeSpan.FromSeconds(15));
        Assert.Null(budget.WaitFor(Caller("203.0.113.99")));
        Assert.Null(budget.WaitFor(Caller("198.51.100.1")));
    }

    [Fact]
    public void When_the_remembered_callers_are_at_the_cap_a_new_caller_is_refused_and_nobody_is_forgotten()
    {
        var budget = Budget(misses: 1000, capacity: 4);
        budget.RecordMiss(Caller("198.51.100.1"));
        budget.RecordMiss(Caller("198.51.100.2"));
        budget.RecordMiss(Caller("2001:db8:1:2::1"));

        // Full (an IPv6 caller takes two places), though the budget is far from spent: a new caller is not let in
        // unremembered, and the callers held keep their place.
        Assert.NotNull(budget.WaitFor(Caller("198.51.100.3")));
        Assert.NotNull(budget.WaitFor(Caller("2001:db8:1:3::1")));
        budget.RecordMiss(Caller("198.51.100.3"));
        Assert.NotNull(budget.WaitFor(Caller("198.51.100.3")));
        Assert.Null(budget.WaitFor(Caller("198.51.100.1")));
        Assert.Null(budget.WaitFor(Caller("2001:db8:1:2::77")));

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(budget.WaitFor(Caller("198.51.100.3")));
    }
}
