namespace ReferralBroker.Hosting;

/// <summary>
/// Headers for a service whose pages are opened on shared or seized phones: nothing cached, nothing sent to
/// third parties, no framing, scripts only from here.
/// </summary>
internal static class SecurityHeaders
{
    /// <remarks>
    /// Set as the response starts, not on the way in: the exception handler clears the headers of a failed
    /// request before writing its 500, and every answer must carry them.
    /// </remarks>
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.CacheControl = "no-store";
            headers.XFrameOptions = "DENY";
            headers.ContentSecurityPolicy =
                "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
            return Task.CompletedTask;
        });
        return next(context);
    });
}
