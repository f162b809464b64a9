using ReferralBroker.Lifecycle;
using ReferralBroker.Referrals;
using ReferralBroker.Sealing;
using E = ReferralBroker.Lifecycle.ReferralEvent;
using S = ReferralBroker.Lifecycle.ReferralStatus;

namespace ReferralBroker.Tests.Domain;

public sealed class TransitionsTests
{
    private static readonly DateTimeOffset Created = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset ConsentEnds = Created.AddDays(30);
    private static readonly DateTimeOffset Now = Created.AddDays(2).AddHours(3);
    private static readonly DateTimeOffset EarlierDeleteAt = Created.AddDays(9);
    private static readonly DateTimeOffset FarPurgeAt = Created.AddDays(400);

    // Unusual durations, so that every deadline below can only come from this policy.
    private static readonly TimeSpan SealedAfterAcceptance = TimeSpan.FromDays(5);
    private static readonly TimeSpan StatusAfterClose = TimeSpan.FromDays(11);
    private static readonly TimeSpan MaxRecordAge = TimeSpan.FromDays(123);

    private static readonly RetentionPolicy Retention = new()
    {
        SealedAfterAcceptance = SealedAfterAcceptance,
        StatusAfterClose = StatusAfterClose,
        MaxRecordAge = MaxRecordAge,
    };

    private static readonly SealedReferral SomeSealed = new(1, "oKGio6Slpqeoqaqr", "c2VhbGVkLWJ5dGVz");

    private enum PurgeRule
    {
        StatusAfterClose,
        MaxRecordAge,
        AfterConsent,
    }

    // By hand: closed statuses are forgotten StatusAfterClose after they close, work in hand MaxRecordAge after
    // creation, and a referral nobody accepted StatusAfterClose after consent runs out.
    private static readonly Dictionary<S, PurgeRule> PurgeRules = new()
    {
        [S.Submitted] = PurgeRule.AfterConsent,
        [S.Delivered] = PurgeRule.AfterConsent,
        [S.Accepted] = PurgeRule.MaxRecordAge,
        [S.Declined] = PurgeRule.StatusAfterClose,
        [S.InProgress] = PurgeRule.MaxRecordAge,
        [S.Completed] = PurgeRule.StatusAfterClose,
        [S.CouldNotContact] = PurgeRule.StatusAfterClose,
        [S.Withdrawn] = PurgeRule.StatusAfterClose,
        [S.Expired] = PurgeRule.StatusAfterClose,
    };

    public static TheoryData<S> EveryStatus() => new(Enum.GetValues<S>());

    [Fact]
    public void Apply_appends_the_new_status_to_the_history_and_stamps_the_update()
    {
        var before = Record(S.Delivered) with
        {
            History = [new StatusChange(S.Submitted, Created), new StatusChange(S.Delivered, Created.AddMinutes(1))],
        };

        var after = Transitions.Apply(before, E.Accept, Now, Retention);

        Assert.NotNull(after);
        Assert.Equal(S.Accepted, after.Status);
        Assert.Equal(Now, after.UpdatedAt);
        Assert.Equal(
            [new StatusChange(S.Submitted, Created), new StatusChange(S.Delivered, Created.AddMinutes(1)), new StatusChange(S.Accepted, Now)],
            after.History);
        Assert.Equal(Now, after.AcceptedAt);
        Assert.Equal(2, before.History.Count);
        Assert.Equal(S.Delivered, before.Status);
    }

    [Theory]
    [InlineData(S.Accepted, E.Expire)]
    [InlineData(S.Accepted, E.Accept)]
    [InlineData(S.Withdrawn, E.Accept)]
    [InlineData(S.Expired, E.Withdraw)]
    [InlineData(S.Completed, E.FailContact)]
    public void Apply_returns_null_for_an_event_the_lifecycle_forbids(S from, E @event) =>
        Assert.Null(Transitions.Apply(Record(from), @event, Now, Retention));

    [Theory]
    [InlineData(S.Submitted, E.Decline, S.Declined)]
    [InlineData(S.Delivered, E.Decline, S.Declined)]
    [InlineData(S.Submitted, E.Withdraw, S.Withdrawn)]
    [InlineData(S.Delivered, E.Withdraw, S.Withdrawn)]
    [InlineData(S.Accepted, E.Withdraw, S.Withdrawn)]
    [InlineData(S.InProgress, E.Withdraw, S.Withdrawn)]
    [InlineData(S.Submitted, E.Expire, S.Expired)]
    [InlineData(S.Delivered, E.Expire, S.Expired)]
    public void Apply_destroys_the_sealed_referral_on_decline_withdraw_and_expire(S from, E @event, S to)
    {
        var before = Record(from);
        Assert.NotNull(before.Sealed);

        var after = Transitions.Apply(before, @event, Now, Retention);

        Assert.NotNull(after);
        Assert.Equal(to, after.Status);
        Assert.Null(after.Sealed);
        Assert.Null(after.SealedDeleteAt);
        Assert.Null(Transitions.SealedGoneBy(after));
    }

    [Theory]
    [InlineData(S.Submitted, E.Deliver)]
    [InlineData(S.Accepted, E.StartProgress)]
    [InlineData(S.Accepted, E.FailContact)]
    [InlineData(S.InProgress, E.Complete)]
    [InlineData(S.InProgress, E.FailContact)]
    public void Apply_keeps_the_sealed_referral_and_its_deadline_on_other_transitions(S from, E @event)
    {
        var before = Record(from);

        var after = Transitions.Apply(before, @event, Now, Retention);

        Assert.NotNull(after);
        Assert.Same(before.Sealed, after.Sealed);
        Assert.Equal(before.SealedDeleteAt, after.SealedDeleteAt);
    }

    [Theory]
    [InlineData(S.Submitted)]
    [InlineData(S.Delivered)]
    public void Accepting_sets_SealedDeleteAt_to_now_plus_SealedAfterAcceptance(S from)
    {
        var before = Record(from);
        Assert.Null(before.SealedDeleteAt);

        var after = Transitions.Apply(before, E.Accept, Now, Retention);

        Assert.NotNull(after);
        Assert.Same(before.Sealed, after.Sealed);
        Assert.Equal(Now + SealedAfterAcceptance, after.SealedDeleteAt);
        Assert.Equal(Now + SealedAfterAcceptance, Transitions.SealedGoneBy(after));
    }

    [Fact]
    public void RetentionPolicy_defaults_are_the_periods_the_README_promises()
    {
        var policy = new RetentionPolicy();

        Assert.Equal(TimeSpan.FromDays(30), policy.DefaultConsent);
        Assert.Equal(TimeSpan.FromDays(90), policy.MaxConsent);
        Assert.Equal(TimeSpan.FromDays(14), policy.SealedAfterAcceptance);
        Assert.Equal(TimeSpan.FromDays(30), policy.StatusAfterClose);
        Assert.Equal(TimeSpan.FromDays(180), policy.MaxRecordAge);
        Assert.Equal(TimeSpan.FromHours(24), policy.IdempotencyWindow);
    }

    [Fact]
    public void Accepting_with_the_default_policy_keeps_the_sealed_referral_14_days()
    {
        var after = Transitions.Apply(Record(S.Delivered), E.Accept, Now, new RetentionPolicy());

        Assert.NotNull(after);
        Assert.Equal(Now.AddDays(14), after.SealedDeleteAt);
    }

    [Theory]
    [MemberData(nameof(EveryStatus))]
    public void RetentionPolicy_PurgeAt_follows_the_rule_for_each_status(S status)
    {
        Assert.True(PurgeRules.TryGetValue(status, out var rule), $"{status} has no purge rule in this test: decide one.");

        var purgeAt = Retention.PurgeAt(status, Created, ConsentEnds, Now);

        Assert.Equal(Expected(rule), purgeAt);
    }

    [Theory]
    [InlineData(S.Submitted, E.Deliver)]
    [InlineData(S.Submitted, E.Accept)]
    [InlineData(S.Delivered, E.Accept)]
    [InlineData(S.Delivered, E.Decline)]
    [InlineData(S.Accepted, E.StartProgress)]
    [InlineData(S.Accepted, E.FailContact)]
    [InlineData(S.InProgress, E.Complete)]
    [InlineData(S.InProgress, E.Withdraw)]
    [InlineData(S.Delivered, E.Expire)]
    public void Apply_sets_PurgeAt_by_the_rule_for_the_new_status(S from, E @event)
    {
        var after = Transitions.Apply(Record(from), @event, Now, Retention);

        Assert.NotNull(after);
        Assert.Equal(Expected(PurgeRules[after.Status]), after.PurgeAt);
    }

    [Theory]
    [InlineData(S.InProgress, E.Complete)]
    [InlineData(S.InProgress, E.Withdraw)]
    [InlineData(S.Accepted, E.FailContact)]
    public void A_referral_closed_late_is_still_purged_no_later_than_MaxRecordAge_after_submission(S from, E @event)
    {
        // README, "What is kept, and for how long": the status record is deleted "30 days after the referral
        // closes; 30 days after consent ends if nobody accepted; 180 days after submission at most".
        var policy = new RetentionPolicy();
        var latest = Created + policy.MaxRecordAge;
        var closedAt = latest - TimeSpan.FromDays(10);

        var after = Transitions.Apply(Record(from) with { PurgeAt = latest }, @event, closedAt, policy);

        Assert.NotNull(after);
        Assert.True(
            after.PurgeAt <= latest,
            $"Closed on day {(closedAt - Created).TotalDays:0}, purged on day {(after.PurgeAt - Created).TotalDays:0}: later than MaxRecordAge ({policy.MaxRecordAge.TotalDays:0} days) after submission.");
    }

    [Fact]
    public void Declining_records_the_reason_and_other_events_ignore_one()
    {
        var declined = Transitions.Apply(Record(S.Delivered), E.Decline, Now, Retention, DeclineReason.NoCapacity);
        Assert.NotNull(declined);
        Assert.Equal(DeclineReason.NoCapacity, declined.DeclineReason);

        var accepted = Transitions.Apply(Record(S.Delivered), E.Accept, Now, Retention, DeclineReason.Other);
        Assert.NotNull(accepted);
        Assert.Null(accepted.DeclineReason);
    }

    [Fact]
    public void DueAction_is_purge_once_PurgeAt_is_reached_even_if_other_work_is_due()
    {
        var record = Record(S.Submitted) with
        {
            ExpiresAt = Now.AddDays(-1),
            SealedDeleteAt = Now.AddDays(-1),
            PurgeAt = Now,
        };

        Assert.Equal(SweepAction.Purge, Transitions.DueAction(record, Now));
        Assert.Equal(SweepAction.Expire, Transitions.DueAction(record, Now.AddTicks(-1)));
    }

    [Theory]
    [InlineData(S.Submitted)]
    [InlineData(S.Delivered)]
    public void DueAction_is_expire_when_consent_ran_out_before_anyone_accepted(S status)
    {
        var record = Record(status) with { ExpiresAt = Now };

        Assert.Equal(SweepAction.Expire, Transitions.DueAction(record, Now));
        Assert.Equal(SweepAction.None, Transitions.DueAction(record, Now.AddTicks(-1)));
    }

    [Theory]
    [InlineData(S.Accepted)]
    [InlineData(S.InProgress)]
    [InlineData(S.Completed)]
    [InlineData(S.Withdrawn)]
    public void DueAction_never_expires_a_referral_that_is_past_submitted_or_delivered(S status)
    {
        var record = Record(status) with { ExpiresAt = Now.AddDays(-3) };

        Assert.Equal(SweepAction.None, Transitions.DueAction(record, Now));
    }

    [Theory]
    [InlineData(S.Accepted)]
    [InlineData(S.InProgress)]
    [InlineData(S.Completed)]
    [InlineData(S.CouldNotContact)]
    public void DueAction_is_destroy_sealed_once_SealedDeleteAt_is_reached(S status)
    {
        var record = Record(status) with { SealedDeleteAt = Now };

        Assert.Equal(SweepAction.DestroySealed, Transitions.DueAction(record, Now));
        Assert.Equal(SweepAction.None, Transitions.DueAction(record, Now.AddTicks(-1)));
    }

    [Fact]
    public void DueAction_is_none_when_the_sealed_referral_is_already_gone()
    {
        var record = Record(S.Completed) with { Sealed = null, SealedDeleteAt = Now.AddDays(-1) };

        Assert.Equal(SweepAction.None, Transitions.DueAction(record, Now));
    }

    [Theory]
    [MemberData(nameof(EveryStatus))]
    public void DueAction_is_none_when_nothing_is_due(S status) =>
        Assert.Equal(SweepAction.None, Transitions.DueAction(Record(status), Now));

    [Fact]
    public void SealedGoneBy_is_the_consent_end_for_a_sealed_referral_without_its_own_deadline()
    {
        Assert.Equal(ConsentEnds, Transitions.SealedGoneBy(Record(S.Submitted)));
        Assert.Equal(EarlierDeleteAt, Transitions.SealedGoneBy(Record(S.Accepted)));
    }

    private static DateTimeOffset Expected(PurgeRule rule) => rule switch
    {
        PurgeRule.StatusAfterClose => Now + StatusAfterClose,
        PurgeRule.MaxRecordAge => Created + MaxRecordAge,
        PurgeRule.AfterConsent => ConsentEnds + StatusAfterClose,
        _ => throw new ArgumentOutOfRangeException(nameof(rule)),
    };

    /// <summary>A record at <paramref name="status"/> with nothing due at <see cref="Now"/>.</summary>
    internal static ReferralRecord Record(S status)
    {
        var accepted = status is S.Accepted or S.InProgress or S.Completed or S.CouldNotContact;
        var destroyed = status is S.Declined or S.Withdrawn or S.Expired;
        return new ReferralRecord
        {
            ReferralId = "ref_000000000000000000000001",
            OrganisationId = "org-1",
            PartnerId = "partner-1",
            Category = ServiceCategory.Health,
            ConsentObtainedBy = ConsentMethod.Verbal,
            Status = status,
            CreatedAt = Created,
            UpdatedAt = Created.AddHours(1),
            ExpiresAt = ConsentEnds,
            TokenHash = "token-hash",
            CapabilityHash = "capability-hash",
            History = status == S.Submitted
                ? [new StatusChange(S.Submitted, Created)]
                : [new StatusChange(S.Submitted, Created), new StatusChange(status, Created.AddHours(1))],
            Sealed = destroyed ? null : SomeSealed,
            SealedDeleteAt = accepted ? EarlierDeleteAt : null,
            PurgeAt = FarPurgeAt,
        };
    }
}
