using Azure.Core;
using Azure.Messaging.ServiceBus;

namespace ReferralBroker.Azure.ServiceBus;

/// <summary>
/// The process's one <see cref="ServiceBusClient"/> (one AMQP connection, shared by the topic's sender and every
/// receiver), built once from validated options. It exists as a type of its own because the client is only
/// <see cref="IAsyncDisposable"/>, and a service container disposed synchronously refuses such a singleton.
/// </summary>
public sealed class ServiceBusNamespace : IDisposable, IAsyncDisposable
{
    public ServiceBusNamespace(ServiceBusOptions options, TokenCredential? credential)
    {
        Options = options;
        Client = options.CreateClient(credential);
    }

    public ServiceBusOptions Options { get; }

    public ServiceBusClient Client { get; }

    public ValueTask DisposeAsync() => Client.DisposeAsync();

    public void Dispose() => Client.DisposeAsync().AsTask().GetAwaiter().GetResult();
}
