using System.Net;
using System.Net.Sockets;
using ReferralBroker.Referrals;

namespace ReferralBroker.Notifications;

/// <summary>Resolves a host name; the system's DNS in production, a fixed answer in tests that play a rebinding DNS.</summary>
internal delegate Task<IPAddress[]> ResolveHost(string host, CancellationToken cancellationToken);

/// <summary>
/// The webhook client's only way out (<see cref="SocketsHttpHandler.ConnectCallback"/>): it resolves the host
/// itself, refuses the connection when any address the name has is internal (<see cref="WebhookAddresses.IsInternal"/>),
/// and connects to an address it vetted, never to the name, so a DNS answer that changes between the check and the
/// connect (rebinding) cannot get round it. Loopback passes only with AllowLoopbackHttpWebhooks (development, tests).
/// </summary>
internal sealed class WebhookConnector(ResolveHost resolve, bool allowLoopback)
{
    public static readonly ResolveHost SystemDns = Dns.GetHostAddressesAsync;

    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await resolve(host, cancellationToken);
        if (addresses.Length == 0)
        {
            throw new InternalAddressException("The webhook's host has no address.");
        }

        // Any internal answer refuses the lot: a name that also points inside is not a public receiver.
        if (addresses.Any(a => WebhookAddresses.IsInternal(a) && !(allowLoopback && WebhookAddresses.IsLoopback(a))))
        {
            throw new InternalAddressException("The webhook's host resolves to an internal address.");
        }

        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last!;
    }
}

/// <summary>The connection was refused by the broker itself: the webhook would have reached inside.</summary>
internal sealed class InternalAddressException(string message) : Exception(message);
