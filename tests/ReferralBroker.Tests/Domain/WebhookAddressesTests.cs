using System.Net;
using ReferralBroker.Referrals;

namespace ReferralBroker.Tests.Domain;

public sealed class WebhookAddressesTests
{
    [Theory]
    // IPv4: the ranges a webhook must never reach.
    [InlineData("0.0.0.0", true)]
    [InlineData("0.1.2.3", true)]
    [InlineData("10.0.0.1", true)]
    [InlineData("10.255.255.255", true)]
    [InlineData("100.64.0.1", true)]
    [InlineData("100.127.255.254", true)]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.9.9.9", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("172.16.0.1", true)]
    [InlineData("172.31.255.255", true)]
    [InlineData("192.168.1.1", true)]
    [InlineData("192.0.0.8", true)]
    [InlineData("192.0.2.10", true)]
    [InlineData("192.88.99.1", true)]
    [InlineData("192.88.99.255", true)]
    [InlineData("::ffff:192.88.99.1", true)]
    [InlineData("2002:c058:6301::1", true)] // 6to4 wrapping the relay anycast itself
    [InlineData("192.88.98.255", false)]
    [InlineData("192.88.100.1", false)]
    [InlineData("198.18.0.1", true)]
    [InlineData("198.51.100.7", true)]
    [InlineData("203.0.113.9", true)]
    [InlineData("224.0.0.251", true)]
    [InlineData("239.255.255.250", true)]
    [InlineData("240.0.0.1", true)]
    [InlineData("255.255.255.255", true)]
    // IPv4 just outside those ranges, and ordinary public addresses.
    [InlineData("1.1.1.1", false)]
    [InlineData("8.8.8.8", false)]
    [InlineData("11.0.0.1", false)]
    [InlineData("100.63.255.255", false)]
    [InlineData("100.128.0.1", false)]
    [InlineData("126.255.255.255", false)]
    [InlineData("169.253.1.1", false)]
    [InlineData("172.15.255.255", false)]
    [InlineData("172.32.0.1", false)]
    [InlineData("192.167.1.1", false)]
    [InlineData("192.169.1.1", false)]
    [InlineData("223.255.255.254", false)]
    // IPv6.
    [InlineData("::", true)]
    [InlineData("::1", true)]
    [InlineData("fe80::1", true)]
    [InlineData("febf::1", true)]
    [InlineData("fec0::1", true)]
    [InlineData("fc00::1", true)]
    [InlineData("fd12:3456:789a::1", true)]
    [InlineData("ff02::1", true)]
    [InlineData("ff05::2", true)]
    [InlineData("100::1", true)]
    [InlineData("2001:db8::1", true)]
    [InlineData("64:ff9b:1::a00:1", true)]
    [InlineData("2606:4700:4700::1111", false)]
    [InlineData("2a00:1450:4001:82b::200e", false)]
    // IPv4 inside IPv6: mapped, compatible, translated, NAT64, 6to4, Teredo.
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("::ffff:10.1.2.3", true)]
    [InlineData("::ffff:169.254.169.254", true)]
    [InlineData("::ffff:192.168.0.1", true)]
    [InlineData("::ffff:100.64.0.1", true)]
    [InlineData("::ffff:0.0.0.0", true)]
    [InlineData("::ffff:8.8.8.8", false)]
    [InlineData("::127.0.0.1", true)]
    [InlineData("::10.0.0.1", true)]
    [InlineData("::8.8.8.8", true)]
    [InlineData("::ffff:0:127.0.0.1", true)]
    [InlineData("64:ff9b::127.0.0.1", true)]
    [InlineData("64:ff9b::a9fe:a9fe", true)]
    [InlineData("64:ff9b::808:808", false)]
    [InlineData("2002:7f00:1::1", true)]
    [InlineData("2002:c0a8:101::1", true)]
    [InlineData("2002:808:808::1", false)]
    [InlineData("2001:0:4136:e378:8000:63bf:80ff:fffe", true)] // Teredo, client 127.0.0.1
    public void Internal_addresses_are_told_from_public_ones(string address, bool isInternal) =>
        Assert.Equal(isInternal, WebhookAddresses.IsInternal(IPAddress.Parse(address)));

    [Theory]
    // Uri turns decimal, octal, hex and short IPv4 spellings into the dotted address: each is loopback or internal.
    [InlineData("https://2130706433/hook")]
    [InlineData("https://0177.0.0.1/hook")]
    [InlineData("https://0x7f.0.0.1/hook")]
    [InlineData("https://0x7f000001/hook")]
    [InlineData("https://127.1/hook")]
    [InlineData("https://0/hook")]
    [InlineData("https://0xa9fea9fe/hook")]
    [InlineData("https://012.0.0.1/hook")]
    [InlineData("https://[::ffff:7f00:1]/hook")]
    [InlineData("https://[::ffff:a9fe:a9fe]/hook")]
    [InlineData("https://[fe80::1%25eth0]/hook")]
    [InlineData("https://localhost/hook")]
    [InlineData("https://LOCALHOST./hook")]
    [InlineData("https://api.localhost/hook")]
    [InlineData("https://printer.local/hook")]
    [InlineData("https://router.home.arpa/hook")]
    [InlineData("https://metadata.google.internal/hook")]
    [InlineData("https://intranet/hook")]
    public void Urls_whose_host_is_internal_by_its_spelling_are_refused_before_any_lookup(string url)
    {
        Assert.NotNull(WebhookAddresses.HostProblem(new Uri(url), allowLoopback: false));
        Assert.False(ClosedLoop.IsAcceptableWebhookUrl(new Uri(url), allowLoopbackHttp: false));
    }

    [Theory]
    [InlineData("https://hooks.example.org/referrals")]
    [InlineData("https://8.8.8.8/hook")]
    [InlineData("https://[2606:4700:4700::1111]/hook")]
    [InlineData("https://hooks.example.org./referrals")]
    public void Public_hosts_pass_the_save_time_check(string url) =>
        Assert.Null(WebhookAddresses.HostProblem(new Uri(url), allowLoopback: false));

    [Theory]
    [InlineData("http://127.0.0.1:8080/hook", true)]
    [InlineData("https://127.0.0.1:8080/hook", true)]
    [InlineData("http://localhost:8080/hook", true)]
    [InlineData("http://[::1]:8080/hook", true)]
    [InlineData("https://[::ffff:127.0.0.1]/hook", true)]
    // The development exception is for loopback only: the LAN stays out of reach.
    [InlineData("https://10.0.0.1/hook", false)]
    [InlineData("https://169.254.169.254/latest/meta-data", false)]
    [InlineData("http://192.168.1.1/hook", false)]
    public void The_development_exception_opens_loopback_and_nothing_else(string url, bool acceptable) =>
        Assert.Equal(acceptable, ClosedLoop.IsAcceptableWebhookUrl(new Uri(url), allowLoopbackHttp: true));
}
