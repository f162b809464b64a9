using Microsoft.AspNetCore.Http.HttpResults;

namespace ReferralBroker.Http;

/// <summary>The one error vocabulary: every client error is RFC 9457 problem+json made here.</summary>
internal static class Problems
{
    public static ProblemHttpResult NotFound() =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found",
            detail: "Nothing is known here by that reference.");

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: detail);

    public static ProblemHttpResult TooLarge(int limit) =>
        TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request body too large",
            detail: $"The request body may be at most {limit} bytes.");

    /// <summary>401 with "WWW-Authenticate: Bearer": no key, or one nobody holds.</summary>
    public static ProblemHttpResult Unauthorized(HttpResponse response, string detail)
    {
        response.Headers.WWWAuthenticate = "Bearer";
        return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized", detail: detail);
    }

    public static ProblemHttpResult Forbidden(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: detail);

    /// <summary>A request that breaks HTTP itself, with the status the server chose (400, 413, ...).</summary>
    public static ProblemHttpResult BadRequest(int status) =>
        TypedResults.Problem(statusCode: status, title: "Bad request", detail: "The request could not be read.");

    /// <summary>500, and nothing about why: the log has the exception's type, the client only this.</summary>
    public static ProblemHttpResult Failed() =>
        TypedResults.Problem(statusCode: StatusCodes.Status500InternalServerError, title: "Something went wrong",
            detail: "The broker could not answer this request; please try again.");

    /// <summary>429 with Retry-After in whole seconds (at least 1).</summary>
    public static ProblemHttpResult TooManyRequests(HttpContext context, TimeSpan retryAfter)
    {
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests",
            detail: "Please wait and try again; the Retry-After header says how long.");
    }

    /// <summary>400: the request is not the JSON this endpoint reads (syntax, types, unknown properties).</summary>
    public static ProblemHttpResult Malformed(IDictionary<string, string[]> errors) =>
        Fields(StatusCodes.Status400BadRequest, "The request body is not valid for this endpoint", errors);

    /// <summary>422: well-formed, but the values break a rule (consent, partner, lifecycle input).</summary>
    public static ProblemHttpResult Invalid(IDictionary<string, string[]> errors) =>
        Fields(StatusCodes.Status422UnprocessableEntity, "The referral breaks a rule", errors);

    public static ProblemHttpResult Fields(int status, string title, IDictionary<string, string[]> errors) =>
        TypedResults.Problem(new HttpValidationProblemDetails(errors) { Status = status, Title = title });
}
