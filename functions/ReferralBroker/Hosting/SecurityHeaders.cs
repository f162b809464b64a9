namespace ReferralBroker.Hosting;

/// <summary>
/// Headers for a service whose pages are opened on shared or seized phones: nothing cached, nothing sent to
/// third parties, no framing, scripts only from here.
/// </summary>
internal static class SecurityHeaders
{
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-store";
        headers.XFrameOptions = "DENY";
        headers.ContentSecurityPolicy =
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        return next(context);
    });
}
