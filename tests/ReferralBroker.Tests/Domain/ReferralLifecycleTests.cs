using ReferralBroker.Lifecycle;
using E = ReferralBroker.Lifecycle.ReferralEvent;
using S = ReferralBroker.Lifecycle.ReferralStatus;

namespace ReferralBroker.Tests.Domain;

public sealed class ReferralLifecycleTests
{
    private static S? No => null;

    // The columns of the table below, in this order.
    private static readonly E[] Events =
        [E.Deliver, E.Accept, E.Decline, E.StartProgress, E.Complete, E.FailContact, E.Withdraw, E.Expire, E.Resend];

    // Written out by hand from the specification, not from the code: where each (status, event) leads, or No.
    private static readonly Dictionary<S, S?[]> Table = new()
    {
        //                    Deliver      Accept      Decline     StartProgress Complete     FailContact        Withdraw     Expire     Resend (only when deliveryFailed)
        [S.Submitted] =       [S.Delivered, S.Accepted, S.Declined, No,           No,          No,                S.Withdrawn, S.Expired, S.Submitted],
        [S.Delivered] =       [No,          S.Accepted, S.Declined, No,           No,          No,                S.Withdrawn, S.Expired, No],
        [S.Accepted] =        [No,          No,         No,         S.InProgress, No,          S.CouldNotContact, S.Withdrawn, No, No],
        [S.Declined] =        [No,          No,         No,         No,           No,          No,                No,          No, No],
        [S.InProgress] =      [No,          No,         No,         No,           S.Completed, S.CouldNotContact, S.Withdrawn, No, No],
        [S.Completed] =       [No,          No,         No,         No,           No,          No,                No,          No, No],
        [S.CouldNotContact] = [No,          No,         No,         No,           No,          No,                No,          No, No],
        [S.Withdrawn] =       [No,          No,         No,         No,           No,          No,                No,          No, No],
        [S.Expired] =         [No,          No,         No,         No,           No,          No,                No,          No, No],
    };

    // Per status, by hand: closed (no way out), destroys the sealed referral, FHIR Task.status, wire name.
    private static readonly Dictionary<S, (bool Closed, bool DestroysSealed, string Fhir, string Wire)> Facts = new()
    {
        [S.Submitted] = (false, false, "requested", "submitted"),
        [S.Delivered] = (false, false, "received", "delivered"),
        [S.Accepted] = (false, false, "accepted", "accepted"),
        [S.Declined] = (true, true, "rejected", "declined"),
        [S.InProgress] = (false, false, "in-progress", "in-progress"),
        [S.Completed] = (true, false, "completed", "completed"),
        [S.CouldNotContact] = (true, false, "failed", "could-not-contact"),
        [S.Withdrawn] = (true, true, "cancelled", "withdrawn"),
        [S.Expired] = (true, true, "cancelled", "expired"),
    };

    public static TheoryData<S, E> EveryPair()
    {
        var data = new TheoryData<S, E>();
        foreach (var status in Enum.GetValues<S>())
        {
            foreach (var @event in Enum.GetValues<E>())
            {
                data.Add(status, @event);
            }
        }

        return data;
    }

    public static TheoryData<S> EveryStatus() => new(Enum.GetValues<S>());

    [Theory]
    [MemberData(nameof(EveryStatus))]
    public void Only_a_submitted_referral_whose_delivery_failed_may_be_sent_again(S status)
    {
        Assert.False(ReferralLifecycle.MayResend(status, deliveryFailed: false));
        Assert.Equal(status == S.Submitted, ReferralLifecycle.MayResend(status, deliveryFailed: true));
    }

    [Fact]
    public void The_expected_tables_cover_every_status_and_event_exactly()
    {
        Assert.Equal(Enum.GetValues<S>().Order(), Table.Keys.Order());
        Assert.Equal(Enum.GetValues<S>().Order(), Facts.Keys.Order());
        Assert.Equal(Enum.GetValues<E>().Order(), Events.Order());
        Assert.All(Table.Values, row => Assert.Equal(Events.Length, row.Length));
        Assert.Equal(9 * 9, EveryPair().Count);
    }

    [Theory]
    [MemberData(nameof(EveryPair))]
    public void Every_status_and_event_pair_is_allowed_or_forbidden_as_the_table_says(S from, E @event)
    {
        Assert.True(Table.TryGetValue(from, out var row), $"{from} is not in the expected table: decide its transitions.");
        var column = Array.IndexOf(Events, @event);
        Assert.True(column >= 0, $"{@event} is not in the expected table: decide where it may happen.");

        var allowed = ReferralLifecycle.TryApply(from, @event, out var to);

        var expected = row[column];
        Assert.True((expected is not null) == allowed, $"{from} + {@event}: expected {(expected is null ? "forbidden" : $"-> {expected}")}, got {(allowed ? $"-> {to}" : "forbidden")}.");
        if (expected is { } target)
        {
            Assert.Equal(target, to);
        }
    }

    [Theory]
    [InlineData(S.Accepted, E.Accept)]
    [InlineData(S.Accepted, E.Decline)]
    [InlineData(S.Declined, E.Accept)]
    [InlineData(S.Declined, E.Decline)]
    [InlineData(S.Withdrawn, E.Accept)]
    [InlineData(S.Expired, E.Accept)]
    [InlineData(S.Accepted, E.Expire)]
    [InlineData(S.InProgress, E.Expire)]
    [InlineData(S.Delivered, E.Deliver)]
    [InlineData(S.Withdrawn, E.Withdraw)]
    [InlineData(S.Completed, E.Withdraw)]
    [InlineData(S.Submitted, E.Complete)]
    public void Deciding_twice_acting_on_a_finished_referral_and_expiring_accepted_work_are_forbidden(S from, E @event) =>
        Assert.False(ReferralLifecycle.TryApply(from, @event, out _));

    [Theory]
    [MemberData(nameof(EveryStatus))]
    public void IsClosed_is_true_exactly_for_the_final_statuses(S status) =>
        Assert.Equal(Facts[status].Closed, ReferralLifecycle.IsClosed(status));

    [Theory]
    [MemberData(nameof(EveryStatus))]
    public void A_status_is_closed_exactly_when_no_event_leads_out_of_it(S status) =>
        Assert.Equal(
            ReferralLifecycle.IsClosed(status),
            Enum.GetValues<E>().All(e => !ReferralLifecycle.TryApply(status, e, out _)));

    [Theory]
    [MemberData(nameof(EveryStatus))]
    public void DestroysSealedReferral_only_for_declined_withdrawn_and_expired(S status) =>
        Assert.Equal(Facts[status].DestroysSealed, ReferralLifecycle.DestroysSealedReferral(status));

    [Theory]
    [MemberData(nameof(EveryStatus))]
    public void ToFhirTaskStatus_maps_each_status_to_its_FHIR_Task_status(S status) =>
        Assert.Equal(Facts[status].Fhir, ReferralLifecycle.ToFhirTaskStatus(status));

    [Fact]
    public void ToFhirTaskStatus_refuses_an_undefined_status() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ReferralLifecycle.ToFhirTaskStatus((S)999));

    [Theory]
    [MemberData(nameof(EveryStatus))]
    public void WireNames_print_and_parse_each_status_with_its_kebab_case_name(S status)
    {
        Assert.Equal(Facts[status].Wire, WireNames.Of(status));
        Assert.True(WireNames.TryParse(Facts[status].Wire, out S parsed));
        Assert.Equal(status, parsed);
    }

    [Theory]
    [InlineData("health")]
    [InlineData("legal")]
    [InlineData("employment")]
    [InlineData("housing")]
    [InlineData("mental-health")]
    [InlineData("hiv2")]
    public void WireNames_print_and_parse_built_in_and_new_categories(string wire)
    {
        Assert.True(WireNames.TryParse(wire, out ServiceCategory parsed));
        Assert.Equal(wire, WireNames.Of(parsed));
    }

    [Fact]
    public void The_built_in_categories_are_health_legal_and_employment()
    {
        Assert.Equal(["health", "legal", "employment"], ServiceCategory.BuiltIn.Select(WireNames.Of));
        Assert.Equal(ServiceCategory.Health, WireNames.TryParse("health", out ServiceCategory health) ? health : default);
    }

    [Theory]
    [InlineData("h")]
    [InlineData("Health")]
    [InlineData("1health")]
    [InlineData("-health")]
    [InlineData("health-")]
    [InlineData("health care")]
    [InlineData("health_care")]
    [InlineData("abcdefghijabcdefghijabcdefghijabc")]
    public void A_category_is_a_short_lower_case_word_with_dashes(string text) =>
        Assert.False(WireNames.TryParse(text, out ServiceCategory _));

    [Theory]
    [InlineData(ConsentMethod.Verbal, "verbal")]
    [InlineData(ConsentMethod.Written, "written")]
    [InlineData(ConsentMethod.Digital, "digital")]
    public void WireNames_print_and_parse_each_consent_method(ConsentMethod method, string wire)
    {
        Assert.Equal(wire, WireNames.Of(method));
        Assert.True(WireNames.TryParse(wire, out ConsentMethod parsed));
        Assert.Equal(method, parsed);
    }

    [Fact]
    public void WireNames_round_trip_every_value_of_every_enum_through_distinct_kebab_case_names()
    {
        RoundTrips(Enum.GetValues<S>(), WireNames.Of, (string t, out S v) => WireNames.TryParse(t, out v));
        RoundTrips(Enum.GetValues<ConsentMethod>(), WireNames.Of, (string t, out ConsentMethod v) => WireNames.TryParse(t, out v));
        RoundTrips(Enum.GetValues<DeclineReason>(), WireNames.Of, (string t, out DeclineReason v) => WireNames.TryParse(t, out v));
    }

    [Fact]
    public void WireNames_list_every_category_consent_method_and_decline_reason()
    {
        Assert.Equal(ServiceCategory.BuiltIn.Select(WireNames.Of).Order(), WireNames.AllCategories.Order());
        Assert.Equal(Enum.GetValues<ConsentMethod>().Select(WireNames.Of).Order(), WireNames.AllConsentMethods.Order());
        Assert.Equal(Enum.GetValues<DeclineReason>().Select(WireNames.Of).Order(), WireNames.AllDeclineReasons.Order());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Submitted")]
    [InlineData("SUBMITTED")]
    [InlineData(" submitted")]
    [InlineData("InProgress")]
    [InlineData("in_progress")]
    [InlineData("inprogress")]
    [InlineData("4")]
    public void WireNames_refuse_anything_but_the_exact_wire_name(string? text)
    {
        Assert.False(WireNames.TryParse(text, out S _));
        Assert.False(WireNames.TryParse(text, out ConsentMethod _));
        Assert.False(WireNames.TryParse(text, out DeclineReason _));
    }

    private delegate bool Parser<T>(string text, out T value);

    private static void RoundTrips<T>(T[] values, Func<T, string> print, Parser<T> parse)
        where T : struct, Enum
    {
        var names = values.Select(print).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        foreach (var value in values)
        {
            var name = print(value);
            Assert.Matches("^[a-z]+(-[a-z]+)*$", name);
            Assert.True(parse(name, out var parsed), $"'{name}' does not parse back.");
            Assert.Equal(value, parsed);
        }
    }
}
