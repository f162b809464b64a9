namespace ReferralBroker.Hosting;

internal static class BrokerUrls
{
    public const string DefaultUrl = "http://localhost:7071";

    /// <summary>
    /// Listens where the Functions tooling would, unless told otherwise (--urls, ASPNETCORE_URLS), and without
    /// Kestrel's "Server" header: what software answers is nobody's business but the operator's.
    /// </summary>
    public static IWebHostBuilder UseBrokerUrls(this IWebHostBuilder webHost, IConfiguration configuration) =>
        (string.IsNullOrEmpty(configuration[WebHostDefaults.ServerUrlsKey]) ? webHost.UseUrls(DefaultUrl) : webHost)
            .ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
}
