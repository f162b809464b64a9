namespace ReferralBroker.Gate;

/// <summary>
/// Headers for a service whose pages are opened on shared or seized phones: nothing cached, nothing sent to
/// third parties, no framing, scripts only from here.
/// </summary>
internal static class SecurityHeaders
{
    /// <remarks>
    /// Set as the response starts, not on the way in: a failed request's headers are cleared before its problem is
    /// written, and every answer must carry them.
    /// </remarks>
    public static void Apply(HttpResponse response) => response.OnStarting(() =>
    {
        var headers = response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-store";
        headers.XFrameOptions = "DENY";
        headers.ContentSecurityPolicy =
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        return Task.CompletedTask;
    });
}
