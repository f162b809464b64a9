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
        // No logging handler: the default one would log the webhook's URL, which may carry a secret of its own.
        services.AddHttpClient(HttpWebhookSender.ClientName, c => c.Timeout = HttpWebhookSender.Timeout)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false })
            .RemoveAllLoggers();
        services.AddSingleton<IWebhookSender>(sp =>
            new HttpWebhookSender(sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpWebhookSender.ClientName)));
        return services;
    }
}
