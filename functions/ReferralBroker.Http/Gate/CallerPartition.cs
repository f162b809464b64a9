using System.Net;
using System.Net.Sockets;

namespace ReferralBroker.Gate;

/// <summary>
/// Who counts as one caller for the per-address limits and the guessing budget. An IPv4 address is one caller, and
/// so is an IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket reports for an IPv4 client): the same
/// IPv4 address. An IPv6 host picks any address of its /64 at will (privacy extensions do it daily; a guesser can do
/// it per request, 2^64 times), and a site is usually given a whole /48: so an IPv6 caller is its /64, and also its
/// <see cref="Site"/>, the /48 that all of that site's /64s share.
/// </summary>
/// <param name="Caller">The IPv4 address, or the IPv6 /64 ("2001:db8:1:2::/64").</param>
/// <param name="Site">The IPv6 /48 ("2001:db8:1::/48"); null for IPv4 and for an unknown address.</param>
internal readonly record struct CallerPartition(string Caller, string? Site)
{
    /// <summary>Every caller the server cannot see (no socket address) is one: it shares one budget, never none.</summary>
    public static readonly CallerPartition Unknown = new("unknown", null);

    public static CallerPartition Of(IPAddress? address)
    {
        if (address is null)
        {
            return Unknown;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return address.AddressFamily == AddressFamily.InterNetworkV6
            ? new CallerPartition(Prefix(address, 64), Prefix(address, 48))
            : new CallerPartition(address.ToString(), null);
    }

    /// <summary>The partitions to count the caller in: its own, then its site's.</summary>
    public IEnumerable<string> Keys => Site is null ? [Caller] : [Caller, Site];

    public static bool IsSite(string key) => key.EndsWith("/48", StringComparison.Ordinal);

    /// <summary>The network of <paramref name="bits"/> (a multiple of 8), without the interface's scope id.</summary>
    private static string Prefix(IPAddress address, int bits)
    {
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, bits / 8, bytes.Length - bits / 8);
        return $"{new IPAddress(bytes)}/{bits}";
    }
}
