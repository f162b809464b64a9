namespace ReferralBroker.Http;

/// <summary>
/// What /openapi/v1.json says about a route that its handler cannot say itself: the handlers read their own input
/// from <see cref="HttpRequest"/> (so that a bad one gets a problem naming the field, never a binder's 400), so
/// their bodies and query parameters are declared here, next to the route in each feature's MapXxx. What the gate
/// answers (401, 403, 429, 500) is added from the route's access rule (see BrokerOpenApi), not route by route.
/// </summary>
internal static class ApiDescription
{
    public const string DocumentPath = "/openapi/v1.json";

    /// <summary>
    /// A JSON body of <typeparamref name="T"/>, and the refusals of every body reader: 400 (not this JSON, naming
    /// the field) and 413 (larger than the route takes).
    /// </summary>
    /// <remarks>
    /// Not <c>.Accepts&lt;T&gt;()</c>: routing reads that too, and would answer a request without the content type
    /// 415 before the gate has seen it (so before its 401), and differently from the Functions worker.
    /// </remarks>
    public static RouteHandlerBuilder Body<T>(this RouteHandlerBuilder route, string contentType = "application/json")
        where T : notnull =>
        route.WithMetadata(new ApiBody(typeof(T), contentType))
            .ProducesValidationProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status413PayloadTooLarge);

    /// <summary>A POST that reads no body: said so, so that the document's check knows it was not forgotten.</summary>
    public static RouteHandlerBuilder NoBody(this RouteHandlerBuilder route) => route.WithMetadata(NoRequestBody.Instance);

    /// <summary>The problems the handler itself answers: 400 and 422 name the fields, the others say why in "detail".</summary>
    public static RouteHandlerBuilder Refuses(this RouteHandlerBuilder route, params int[] statuses)
    {
        foreach (var status in statuses)
        {
            route = status is StatusCodes.Status400BadRequest or StatusCodes.Status422UnprocessableEntity
                ? route.ProducesValidationProblem(status)
                : route.ProducesProblem(status);
        }

        return route;
    }

    /// <summary>The 200 in a text format too (a CSV of the same figures), besides its JSON.</summary>
    public static RouteHandlerBuilder AlsoAnswersText(this RouteHandlerBuilder route, string contentType) =>
        route.WithMetadata(new TextAlternative(contentType));

    public static RouteHandlerBuilder Query(this RouteHandlerBuilder route, string name, string description, bool repeatable = false) =>
        route.WithMetadata(new ApiParameter(name, ApiParameter.InQuery, description, repeatable));

    public static RouteHandlerBuilder Header(this RouteHandlerBuilder route, string name, string description) =>
        route.WithMetadata(new ApiParameter(name, ApiParameter.InHeader, description, false));
}

/// <summary>A query or header parameter the handler reads itself (a string, or a list when repeatable).</summary>
internal sealed record ApiParameter(string Name, string In, string Description, bool Repeatable)
{
    public const string InQuery = "query";
    public const string InHeader = "header";
}

internal sealed record TextAlternative(string ContentType);

/// <summary>The body a handler reads itself, for the document only (see <see cref="ApiDescription.Body{T}"/>).</summary>
internal sealed record ApiBody(Type Type, string ContentType);

internal sealed class NoRequestBody
{
    public static readonly NoRequestBody Instance = new();

    private NoRequestBody()
    {
    }
}
