using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ReferralBroker.Hosting;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;

namespace ReferralBroker.Notifications;

internal static class NotificationServices
{
    /// <summary>The closed loop for either hosting; what runs the deliverer (a hosted service, a timer) is the hosting's.</summary>
    public static IServiceCollection AddClosedLoopNotifications(this IServiceCollection services)
    {
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<BrokerOptions>>().Value.Notifications);
        services.AddSingleton<NotificationDeliverer>();
        services.TryAddSingleton(WebhookConnector.SystemDns);
        // No logging handler: the default one would log the webhook's URL, which may carry a secret of its own.
        // No proxy: a proxy would make the connect callback vet the proxy's address, not the webhook's.
        services.AddHttpClient(HttpWebhookSender.ClientName, (sp, c) => c.Timeout = Policy(sp).ConnectTimeout + Policy(sp).ResponseTimeout)
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                UseProxy = false,
                ConnectTimeout = Policy(sp).ConnectTimeout,
                ConnectCallback = new WebhookConnector(sp.GetRequiredService<ResolveHost>(), Policy(sp).AllowLoopbackHttpWebhooks).ConnectAsync,
            })
            .RemoveAllLoggers();
        services.AddSingleton<IWebhookSender>(sp =>
            new HttpWebhookSender(sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpWebhookSender.ClientName), sp.GetRequiredService<TimeProvider>()));
        return services;
    }

    private static NotificationPolicy Policy(IServiceProvider sp) => sp.GetRequiredService<IOptions<BrokerOptions>>().Value.Notifications;
}
