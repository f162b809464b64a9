namespace ReferralBroker.Hosting;

internal static class BrokerUrls
{
    public const string DefaultUrl = "http://localhost:7071";

    /// <summary>Listens where the Functions tooling would, unless told otherwise (--urls, ASPNETCORE_URLS).</summary>
    public static IWebHostBuilder UseBrokerUrls(this IWebHostBuilder webHost, IConfiguration configuration) =>
        string.IsNullOrEmpty(configuration[WebHostDefaults.ServerUrlsKey]) ? webHost.UseUrls(DefaultUrl) : webHost;
}
