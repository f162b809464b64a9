using ReferralBroker.Azure.TableStorage;
using ReferralBroker.Lifecycle;
using ReferralBroker.Referrals;

namespace ReferralBroker.Azure.Tests.TableStorage;

public sealed class TableKeysTests
{
    [Fact]
    public void A_record_lives_in_its_own_partition_and_its_token_index_in_the_token_hash_partition()
    {
        Assert.Equal(new EntityKey("ref_0a1b", "referral"), TableKeys.Record("ref_0a1b"));
        Assert.Equal(new EntityKey("Zm9v-_ba", "token"), TableKeys.TokenIndex("Zm9v-_ba"));
        Assert.Equal(new EntityKey("a2V5-_", "idempotency"), TableKeys.Idempotency("a2V5-_"));
    }

    [Fact]
    public void An_organisations_index_rows_sort_newest_first_then_by_referral_id()
    {
        var at = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
        string[] rows =
        [
            TableKeys.OrganisationRow(at.AddMilliseconds(1), "ref_b"),
            TableKeys.OrganisationRow(at.AddTicks(9_999), "ref_a"),
            TableKeys.OrganisationRow(at, "ref_b"),
            TableKeys.OrganisationRow(at.AddYears(-30), "ref_a"),
        ];
        Assert.Equal(rows, rows.Order(StringComparer.Ordinal));
        // 253402300799999 (the last millisecond DateTimeOffset holds) - 1795435200000 (the creation time).
        Assert.Equal(new EntityKey("org:drop-in", "251606865599999_ref_b"), TableKeys.OrganisationIndex("drop-in", at, "ref_b"));
        Assert.True(TableKeys.IsOrganisationIndex(TableKeys.OrganisationIndex("drop-in", at, "ref_b")));
        Assert.False(TableKeys.IsOrganisationIndex(TableKeys.Record("ref_b")));
    }

    [Fact]
    public void The_organisation_filter_bounds_rows_by_creation_range_cursor_and_category()
    {
        var from = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        var query = new ReferralQuery("o'neil", Category: ServiceCategory.Legal, CreatedFrom: from, CreatedBefore: from.AddDays(30),
            After: new ReferralCursor(from.AddDays(3), "ref_c"));
        Assert.Equal(
            "PartitionKey eq 'org:o''neil' and RowKey ge '" + TableKeys.OrganisationRow(from.AddDays(30).AddMilliseconds(-1), "")[..15] +
            "' and RowKey lt '" + TableKeys.OrganisationRow(from.AddMilliseconds(-1), "")[..15] +
            "' and RowKey gt '" + TableKeys.OrganisationRow(from.AddDays(3), "ref_c").Replace("'", "''", StringComparison.Ordinal) +
            "' and Category eq 'legal'",
            TableKeys.OrganisationFilter(query));
        Assert.Equal("PartitionKey eq 'org:x'", TableKeys.OrganisationFilter(new ReferralQuery("x")));
    }

    [Fact]
    public void Report_counters_live_in_one_partition_per_month_keyed_by_what_they_count()
    {
        var fact = new Reports.ReportFact(new DateOnly(2026, 3, 1), "drop-in", ServiceCategory.Legal, Reports.ReportOutcome.Completed, 5, 48);
        Assert.Equal(new EntityKey("report:2026-03", "drop-in|legal|completed|5|48"), TableKeys.ReportCounter(fact));
        Assert.Equal(new EntityKey("report:2026-03", "drop-in|legal|declined|-|-"),
            TableKeys.ReportCounter(fact with { Outcome = Reports.ReportOutcome.Declined, HoursToAcceptance = null, HoursToCompletion = null }));
        Assert.Null(TableKeys.ReportCounter(fact with { OrganisationId = "a/b" }));
        Assert.Equal("PartitionKey ge 'report:2026-03' and PartitionKey lt 'report:2026-05'",
            TableKeys.ReportCounterFilter(new DateOnly(2026, 3, 1), new DateOnly(2026, 5, 1)));
    }

    [Fact]
    public void Table_names_are_the_prefix_and_a_fixed_suffix()
    {
        Assert.Equal("brokerreferrals", TableKeys.ReferralsTable("broker"));
        Assert.Equal("brokeridempotency", TableKeys.IdempotencyTable("broker"));
    }

    [Theory]
    [InlineData("broker", true)]
    [InlineData("t0123456789ab", true)]
    [InlineData("", false)]
    [InlineData("1broker", false)]
    [InlineData("bro-ker", false)]
    [InlineData("bro_ker", false)]
    [InlineData("a123456789012345678901234567890123456789", true)]
    [InlineData("a1234567890123456789012345678901234567890", false)]
    public void Table_prefixes_must_make_valid_table_names(string prefix, bool valid) =>
        Assert.Equal(valid, TableKeys.IsValidTablePrefix(prefix));

    [Theory]
    [InlineData("ref_0123456789abcdef01234567", true)]
    [InlineData("Zm9vYmFy-_Zm9vYmFy-_Zm9vYmFy-_Zm9vYmFy-_abc", true)]
    [InlineData("o'brien (1)", true)]
    [InlineData("", false)]
    [InlineData("a/b", false)]
    [InlineData("a\\b", false)]
    [InlineData("a#b", false)]
    [InlineData("a?b", false)]
    [InlineData("a\tb", false)]
    [InlineData("a\nb", false)]
    [InlineData("a\u007fb", false)]
    [InlineData("a\u0085b", false)]
    public void Keys_the_service_would_refuse_are_recognised(string key, bool valid) =>
        Assert.Equal(valid, TableKeys.IsValidKey(key));

    [Fact]
    public void Overlong_keys_are_refused_and_writes_with_them_throw_without_echoing_the_key()
    {
        var key = new string('k', TableKeys.MaxKeyLength + 1);

        Assert.False(TableKeys.IsValidKey(key));
        var failure = Assert.Throws<ArgumentException>(() => TableKeys.Record(key));
        Assert.DoesNotContain(key, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Times_are_written_in_UTC_with_seven_fractional_digits_and_compared_as_datetime_literals()
    {
        var local = new DateTimeOffset(2026, 3, 14, 17, 9, 26, TimeSpan.FromHours(2)).AddTicks(5_358_979);

        Assert.Equal("DueAt le datetime'2026-03-14T15:09:26.5358979Z'", TableKeys.OnOrBefore("DueAt", local));
    }

    public static TheoryData<string> RecordShapes => ["submitted", "delivered", "accepted", "accepted-no-seal", "notification-retry", "declined", "expired-sealed"];

    [Theory]
    [MemberData(nameof(RecordShapes))]
    public void DueAt_is_exactly_the_first_moment_the_sweep_has_something_to_do(string shape)
    {
        var record = Shape(shape);
        var dueAt = TableKeys.DueAt(record);

        Assert.False(HasWork(record, dueAt.AddTicks(-1)));
        Assert.True(HasWork(record, dueAt));
        // And it stays due from then on, so a sweep that runs late still finds it.
        foreach (var later in new[] { dueAt.AddDays(1), dueAt.AddDays(400) })
        {
            Assert.True(HasWork(record, later));
        }
    }

    [Fact]
    public void DueAt_agrees_with_DueAction_on_a_grid_of_times_for_every_shape()
    {
        foreach (var shape in RecordShapes)
        {
            var record = Shape(shape!);
            for (var now = Records.Now.AddDays(-1); now < Records.Now.AddDays(400); now = now.AddHours(7))
            {
                Assert.Equal(HasWork(record, now), TableKeys.DueAt(record) <= now);
            }
        }
    }

    /// <summary>The sweep has something to do, or a notification to the organisation is due.</summary>
    private static bool HasWork(ReferralRecord record, DateTimeOffset now) =>
        Transitions.DueAction(record, now) != SweepAction.None || record.NotifyAt <= now;

    private static ReferralRecord Shape(string shape)
    {
        var retention = new RetentionPolicy();
        var submitted = Records.Submitted();
        return shape switch
        {
            "submitted" => submitted,
            "delivered" => Transitions.Apply(submitted, ReferralEvent.Deliver, Records.Now.AddMinutes(1), retention)!,
            "accepted" => Records.Accepted(),
            "accepted-no-seal" => Records.Accepted() with { Sealed = null, SealedDeleteAt = null },
            "notification-retry" => Records.Accepted() with
            {
                Notifications = [ClosedLoop.For("ref_x", ReferralStatus.Accepted, Records.Now) with { Attempts = 2, NextAttemptAt = Records.Now.AddMinutes(3) }],
            },
            "declined" => Records.Declined(),
            // Not a state the domain produces, but DueAt must still agree with the rule if one is ever stored.
            "expired-sealed" => submitted with { Status = ReferralStatus.Expired, SealedDeleteAt = Records.Now.AddDays(2) },
            _ => throw new ArgumentOutOfRangeException(nameof(shape)),
        };
    }
}
