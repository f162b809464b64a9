using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using ReferralBroker.Partners;
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
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var organisation = directory.FindOrganisationByKeyHash(ConfiguredNetworkDirectory.HashApiKey(header["Bearer ".Length..].Trim()));
        if (organisation is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("Unknown API key."));
        }

        var identity = new ClaimsIdentity(
            [new Claim(OrganisationIdClaim, organisation.Id), new Claim(OrganisationNameClaim, organisation.Name)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "Unauthorized",
                Detail = "Send your organisation's API key as 'Authorization: Bearer <key>'.",
            },
        });
    }

    public static Organisation OrganisationOf(ClaimsPrincipal user) =>
        new(user.FindFirstValue(OrganisationIdClaim)!, user.FindFirstValue(OrganisationNameClaim)!, OrganisationNotifications.None);
}
