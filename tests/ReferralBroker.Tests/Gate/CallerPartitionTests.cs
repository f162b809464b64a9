using System.Net;
using ReferralBroker.Gate;

namespace ReferralBroker.Tests.Gate;

/// <summary>The address → partition keys that the per-address limits and the guessing budget count.</summary>
public sealed class CallerPartitionTests
{
    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("127.0.3.4", "127.0.3.4")]
    public void An_IPv4_address_and_its_IPv4_mapped_IPv6_form_are_one_caller_without_a_site(string address, string caller)
    {
        Assert.Equal(new CallerPartition(caller, null), CallerPartition.Of(IPAddress.Parse(address)));
        Assert.Equal([caller], CallerPartition.Of(IPAddress.Parse(address)).Keys);
    }

    [Fact]
    public void Every_address_of_one_IPv6_64_is_one_caller_and_the_interface_scope_is_ignored()
    {
        string[] addresses = ["2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2:a1b2:c3d4:e5f6:1234", "2001:db8:1:2::1%3"];
        Assert.All(addresses, a => Assert.Equal(new CallerPartition("2001:db8:1:2::/64", "2001:db8:1::/48"), CallerPartition.Of(IPAddress.Parse(a))));
    }

    [Fact]
    public void The_64s_of_one_IPv6_48_are_different_callers_of_one_site_and_the_next_48_is_another_site()
    {
        var first = CallerPartition.Of(IPAddress.Parse("2001:db8:1:2::1"));
        var sameSite = CallerPartition.Of(IPAddress.Parse("2001:db8:1:ffff::1"));
        var otherSite = CallerPartition.Of(IPAddress.Parse("2001:db8:2:2::1"));

        Assert.NotEqual(first.Caller, sameSite.Caller);
        Assert.Equal(first.Site, sameSite.Site);
        Assert.NotEqual(first.Site, otherSite.Site);
        Assert.Equal(["2001:db8:1:2::/64", "2001:db8:1::/48"], first.Keys);
        Assert.True(CallerPartition.IsSite(first.Site!));
        Assert.False(CallerPartition.IsSite(first.Caller));
    }

    [Fact]
    public void IPv6_loopback_is_a_64_like_any_other_and_no_address_is_the_one_unknown_caller()
    {
        Assert.Equal(new CallerPartition("::/64", "::/48"), CallerPartition.Of(IPAddress.IPv6Loopback));
        Assert.Equal(CallerPartition.Unknown, CallerPartition.Of(null));
        Assert.Equal(["unknown"], CallerPartition.Of(null).Keys);
    }
}
