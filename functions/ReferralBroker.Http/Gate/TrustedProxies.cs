using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using ReferralBroker.Hosting;

namespace ReferralBroker.Gate;

/// <summary>
/// The embedded host behind a reverse proxy: X-Forwarded-For, -Proto and -Host are read only from the proxies the
/// operator named (Broker:ForwardedHeaders), never from anyone by default, because the client's address is what the
/// per-address limits and the guessing budget count: a caller who could name her own address would have a fresh
/// budget per request. (The Functions worker does not use these settings: its ASP.NET Core integration already
/// trusts exactly its own Functions host, on loopback, which passes on what Azure's front end wrote.)
/// </summary>
internal static class TrustedProxies
{
    /// <returns>The middleware's options, or null when no proxy is trusted (then nothing reads the headers at all).</returns>
    public static ForwardedHeadersOptions? For(ForwardedHeadersSettings settings)
    {
        if (settings.KnownProxies.Count == 0 && settings.KnownNetworks.Count == 0)
        {
            return null;
        }

        var options = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost,
            // Walk back through the header while each hop is a known proxy (a CDN in front of Caddy, say), and stop at
            // the first address that is not: that one is the client, and anything left of it is hers to invent.
            ForwardLimit = null,
        };

        // The defaults trust loopback; here only what is configured is trusted.
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var proxy in settings.KnownProxies)
        {
            options.KnownProxies.Add(IPAddress.Parse(proxy));
        }

        foreach (var network in settings.KnownNetworks)
        {
            options.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
        }

        return options;
    }

    /// <summary>
    /// ASP.NET Core's own switch (ASPNETCORE_FORWARDEDHEADERS_ENABLED=true, a common line in container guides) reads
    /// X-Forwarded-For and -Proto from anyone who connects: the start stops rather than run with it.
    /// </summary>
    public static void RefuseTrustingEveryone(IConfiguration configuration)
    {
        if (string.Equals(configuration["FORWARDEDHEADERS_ENABLED"], "true", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException("ASPNETCORE_FORWARDEDHEADERS_ENABLED trusts forwarded headers from anyone: remove it, and name " +
                "the reverse proxies in Broker__ForwardedHeaders__KnownProxies__0 (or KnownNetworks).");
        }
    }

    /// <summary>A proxy's address as the validator accepts it: a whole IPv4 or IPv6 address, not "127.1".</summary>
    public static bool IsAddress(string value) =>
        IPAddress.TryParse(value, out var address) && (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 || value.Count(c => c == '.') == 3);

    public static bool IsNetwork(string value) => System.Net.IPNetwork.TryParse(value, out _);
}
