using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using ReferralBroker.Referrals;

namespace ReferralBroker.Http;

/// <summary>Organisations authenticate with "Authorization: Bearer &lt;API key&gt;"; only the key's hash is compared.</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    INetworkDirectory directory,
    IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "OrganisationApiKey";
    public const string OrganisationIdClaim = "organisation_id";
    public const string OrganisationNameClaim = "organisation_name";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (BearerKey(Request) is not { } key)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var organisation = directory.FindOrganisationByKeyHash(ApiKeys.Hash(key));
        if (organisation is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("Unknown API key."));
        }

        var identity = new ClaimsIdentity(
            [new Claim(OrganisationIdClaim, organisation.Id), new Claim(OrganisationNameClaim, organisation.Name)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        WriteProblemAsync(Context, problems, StatusCodes.Status401Unauthorized, "Unauthorized",
            "Send your organisation's API key as 'Authorization: Bearer <key>'.");

    /// <summary>The key in "Authorization: Bearer &lt;key&gt;", or null when there is none.</summary>
    public static string? BearerKey(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }

    /// <summary>An authentication failure as problem+json, like every other client error.</summary>
    public static async Task WriteProblemAsync(HttpContext context, IProblemDetailsService problems, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }

        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }

    public static Organisation OrganisationOf(ClaimsPrincipal user) =>
        new(user.FindFirstValue(OrganisationIdClaim)!, user.FindFirstValue(OrganisationNameClaim)!, OrganisationNotifications.None);
}
