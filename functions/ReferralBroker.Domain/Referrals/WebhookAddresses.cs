using System.Net;
using System.Net.Sockets;

namespace ReferralBroker.Referrals;

/// <summary>
/// Where a webhook may not go: anywhere inside the broker's own machine or network. A coordinator's key (or a
/// leaked one) must not turn the broker into a proxy that POSTs to its metadata service, its admin ports or the
/// LAN behind it. Applied twice: to the URL when it is saved (an IP literal or a local name is refused there), and
/// to every address a name resolves to when the webhook client connects (so a DNS answer cannot get round it).
/// </summary>
public static class WebhookAddresses
{
    /// <summary>
    /// True for every address that is not a public unicast one: loopback, private, CGNAT, link-local, unique-local,
    /// multicast, unspecified, broadcast, reserved, 6to4 relay anycast and documentation ranges, and the IPv6 forms that carry one of
    /// those IPv4 addresses inside (IPv4-mapped, IPv4-compatible, IPv4-translated, 6to4, NAT64, Teredo).
    /// </summary>
    public static bool IsInternal(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return IsInternalV4(address.GetAddressBytes());
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return true;
        }

        var b = address.GetAddressBytes();
        if (EmbeddedV4(b) is { } v4)
        {
            return IsInternalV4(v4);
        }

        // Public IPv6 unicast is 2000::/3 (NAT64 aside, above); everything outside it is loopback, unspecified,
        // IPv4-compatible, link-local, unique-local, multicast, discard or not allocated.
        return (b[0] & 0xe0) != 0x20
            || (b[0] == 0x20 && b[1] == 0x01 && (b[2] & 0xfe) == 0) // IETF protocol assignments 2001::/23 (benchmarking, ORCHID)
            || Prefix(b, [0x20, 0x01, 0x0d, 0xb8]) // documentation 2001:db8::/32
            || (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0); // documentation 3fff::/20
    }

    /// <summary>Loopback in any spelling, for the one development exception (AllowLoopbackHttpWebhooks).</summary>
    public static bool IsLoopback(IPAddress address) =>
        IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    /// <summary>
    /// Why the URL's host is refused, or null. Only what can be told without a DNS lookup: an IP literal (Uri has
    /// already turned decimal, octal and hex spellings such as 2130706433 or 0x7f.1 into 127.0.0.1) or a name that
    /// is local by definition. Other names are checked at connect time, on what they resolve to.
    /// </summary>
    public static string? HostProblem(Uri url, bool allowLoopback)
    {
        if (url.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
        {
            if (!IPAddress.TryParse(url.IdnHost.Trim('[', ']'), out var address))
            {
                return "The address cannot be read.";
            }

            if (allowLoopback && IsLoopback(address))
            {
                return null;
            }

            return IsInternal(address) ? "The address is a loopback, private, link-local or otherwise internal one." : null;
        }

        var host = url.IdnHost.TrimEnd('.').ToLowerInvariant();
        if (host is "localhost" || host.EndsWith(".localhost", StringComparison.Ordinal))
        {
            return allowLoopback ? null : "localhost is this machine.";
        }

        if (!host.Contains('.', StringComparison.Ordinal) || LocalSuffixes.Any(s => host.EndsWith(s, StringComparison.Ordinal)))
        {
            return "The name is a local one (no public domain).";
        }

        return null;
    }

    // Names that only a local network answers: mDNS, RFC 8375 home networks, and the ones ICANN keeps private.
    private static readonly string[] LocalSuffixes = [".local", ".internal", ".home.arpa", ".lan", ".intranet", ".corp", ".private"];

    private static bool IsInternalV4(byte[] a) =>
        a[0] is 0 or 10 or 127 // "this network" 0/8, private 10/8, loopback 127/8
        || a[0] >= 224 // multicast 224/4, reserved 240/4, broadcast 255.255.255.255
        || (a[0] == 100 && (a[1] & 0xc0) == 64) // CGNAT 100.64/10
        || (a[0] == 169 && a[1] == 254) // link-local 169.254/16 (cloud metadata services live here)
        || (a[0] == 172 && (a[1] & 0xf0) == 16) // private 172.16/12
        || (a[0] == 192 && a[1] == 168) // private 192.168/16
        || (a[0] == 192 && a[1] == 0 && a[2] is 0 or 2) // IETF protocol assignments 192.0.0/24, TEST-NET-1 192.0.2/24
        || (a[0] == 192 && a[1] == 88 && a[2] == 99) // deprecated 6to4 relay anycast 192.88.99/24 (RFC 7526): a relay, not a host
        || (a[0] == 198 && (a[1] & 0xfe) == 18) // benchmarking 198.18/15
        || (a[0] == 198 && a[1] == 51 && a[2] == 100) // TEST-NET-2
        || (a[0] == 203 && a[1] == 0 && a[2] == 113); // TEST-NET-3

    /// <summary>The IPv4 address an IPv6 one carries, where a router or the host itself would reach that IPv4 address.</summary>
    private static byte[]? EmbeddedV4(byte[] b)
    {
        // ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (translated), 64:ff9b::a.b.c.d (NAT64): the last 32 bits.
        if (Prefix(b, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]) || Prefix(b, [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0])
            || Prefix(b, [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]))
        {
            return b[12..];
        }

        // 6to4 2002:a.b.c.d::/48: the relay delivers to the IPv4 address in bits 16-48.
        if (b[0] == 0x20 && b[1] == 0x02)
        {
            return b[2..6];
        }

        // Teredo 2001:0::/32: the client's IPv4 address is the last 32 bits, inverted.
        if (Prefix(b, [0x20, 0x01, 0x00, 0x00]))
        {
            return [(byte)~b[12], (byte)~b[13], (byte)~b[14], (byte)~b[15]];
        }

        return null;
    }

    private static bool Prefix(byte[] address, ReadOnlySpan<byte> prefix) => address.AsSpan(0, prefix.Length).SequenceEqual(prefix);
}
