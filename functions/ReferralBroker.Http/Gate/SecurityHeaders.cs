namespace ReferralBroker.Gate;

/// <summary>
/// Headers for a service whose pages are opened on shared or seized phones: nothing cached, nothing sent to
/// third parties, no framing, scripts only from here, no device feature (camera, microphone, location) for any
/// page, and once a browser has met it over HTTPS, HTTPS only.
/// </summary>
internal static class SecurityHeaders
{
    /// <summary>
    /// A year, the usual value. Only on HTTPS answers (a browser ignores it over http anyway, and a broker tried
    /// out on http://localhost must not pin localhost); an answer through a trusted proxy's X-Forwarded-Proto
    /// counts as HTTPS.
    /// </summary>
    public const string StrictTransportSecurity = "max-age=31536000";

    public const string PermissionsPolicy =
        "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), " +
        "payment=(), usb=()";

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
        headers["Permissions-Policy"] = PermissionsPolicy;
        if (response.HttpContext.Request.IsHttps)
        {
            headers.StrictTransportSecurity = StrictTransportSecurity;
        }

        return Task.CompletedTask;
    });
}
