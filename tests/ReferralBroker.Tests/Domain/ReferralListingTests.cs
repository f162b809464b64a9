using System.Text;
using ReferralBroker.Referrals;
using ReferralBroker.Tokens;
using S = ReferralBroker.Lifecycle.ReferralStatus;

namespace ReferralBroker.Tests.Domain;

public sealed class ReferralListingTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 23, 12, 0, 0, 123, TimeSpan.Zero);

    [Fact]
    public void A_cursor_survives_its_round_trip_and_anything_else_is_refused()
    {
        var cursor = new ReferralCursor(At, "ref_abc");
        Assert.Equal(cursor, ReferralCursor.TryDecode(cursor.Encode()));
        Assert.Null(ReferralCursor.TryDecode(null));
        Assert.Null(ReferralCursor.TryDecode("not base64 !"));
        Assert.Null(ReferralCursor.TryDecode(Base64Url.Encode(Encoding.UTF8.GetBytes("2|1|ref_abc"))));
        Assert.Null(ReferralCursor.TryDecode(Base64Url.Encode(Encoding.UTF8.GetBytes("1|-5|ref_abc"))));
        Assert.Null(ReferralCursor.TryDecode(Base64Url.Encode(Encoding.UTF8.GetBytes("1|5|"))));
    }

    [Fact]
    public void The_order_is_newest_first_to_the_millisecond_then_by_id()
    {
        var cursor = new ReferralCursor(At, "ref_m");
        Assert.True(cursor.Precedes(At.AddMilliseconds(-1), "ref_z"));
        Assert.True(cursor.Precedes(At.AddTicks(5), "ref_n"));
        Assert.False(cursor.Precedes(At.AddTicks(5), "ref_a"));
        Assert.False(cursor.Precedes(At, "ref_m"));
        Assert.False(cursor.Precedes(At.AddMilliseconds(1), "ref_z"));
    }

    [Fact]
    public void A_query_matches_only_its_organisation_and_filters()
    {
        var record = TransitionsTests.Record(S.Accepted);
        Assert.True(new ReferralQuery("org-1").Matches(record));
        Assert.False(new ReferralQuery("org-2").Matches(record));
        Assert.True(new ReferralQuery("org-1", S.Accepted, Lifecycle.ServiceCategory.Health).Matches(record));
        Assert.False(new ReferralQuery("org-1", S.Declined).Matches(record));
        Assert.False(new ReferralQuery("org-1", Category: Lifecycle.ServiceCategory.Legal).Matches(record));
        Assert.True(new ReferralQuery("org-1", CreatedFrom: record.CreatedAt, CreatedBefore: record.CreatedAt.AddMilliseconds(1)).Matches(record));
        Assert.False(new ReferralQuery("org-1", CreatedBefore: record.CreatedAt).Matches(record));
    }
}
