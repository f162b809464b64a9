namespace ReferralBroker.Http;

internal static class RouteValues
{
    /// <summary>
    /// A route parameter of the matched template, as routing decoded it: the handlers read their own inputs, so a
    /// function can call them with nothing but the request.
    /// </summary>
    public static string Route(this HttpRequest request, string name) =>
        request.RouteValues[name] as string ?? throw new InvalidOperationException($"The route has no {{{name}}}.");
}
