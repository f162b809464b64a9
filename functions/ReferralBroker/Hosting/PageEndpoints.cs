namespace ReferralBroker.Hosting;

/// <summary>The human pages: plain HTML with a script from wwwroot, no server-side rendering of anything secret.</summary>
internal static class PageEndpoints
{
    public static IEndpointRouteBuilder MapPages(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/", () => Page("index.html")).ExcludeFromDescription();
        routes.MapGet("/status", () => Page("status.html")).ExcludeFromDescription();
        routes.MapGet("/reports", () => Page("reports.html")).ExcludeFromDescription();
        // The link secret is in the fragment, which browsers never send: the server only ever sees the id.
        routes.MapGet("/partner/{referralId}", (string referralId) => Page("partner.html")).ExcludeFromDescription();
        return routes;
    }

    private static Microsoft.AspNetCore.Http.HttpResults.PhysicalFileHttpResult Page(string name) => TypedResults.PhysicalFile(
        Path.Combine(AppContext.BaseDirectory, "wwwroot", name), "text/html; charset=utf-8");
}
