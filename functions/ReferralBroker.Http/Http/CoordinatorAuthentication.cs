using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using ReferralBroker.Hosting;
using ReferralBroker.Referrals;

namespace ReferralBroker.Http;

/// <summary>
/// The network coordinator authenticates to the admin API with "Authorization: Bearer &lt;coordinator key&gt;",
/// configured only as a SHA-256 hash and separate from every organisation key. An organisation key is recognised
/// here too, but only so that it is told 403 (not yours) rather than 401 (who are you?).
/// </summary>
internal sealed class CoordinatorKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<BrokerOptions> broker,
    INetworkDirectory directory,
    IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "CoordinatorKey";
    public const string CoordinatorClaim = "network_coordinator";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (ApiKeyAuthenticationHandler.BearerKey(Request) is not { } key)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var hash = ApiKeys.Hash(key);
        if (broker.Value.Admin.CoordinatorKeySha256 is { } expected
            && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(hash), Encoding.ASCII.GetBytes(expected)))
        {
            return Success(new Claim(CoordinatorClaim, "true"));
        }

        return directory.FindOrganisationByKeyHash(hash) is { } organisation
            ? Success(new Claim(ApiKeyAuthenticationHandler.OrganisationIdClaim, organisation.Id))
            : Task.FromResult(AuthenticateResult.Fail("Unknown key."));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        ApiKeyAuthenticationHandler.WriteProblemAsync(Context, problems, StatusCodes.Status401Unauthorized, "Unauthorized",
            "Send the network coordinator's key as 'Authorization: Bearer <key>'.");

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiKeyAuthenticationHandler.WriteProblemAsync(Context, problems, StatusCodes.Status403Forbidden, "Forbidden",
            "Only the network coordinator may use the admin API.");

    private static Task<AuthenticateResult> Success(Claim claim) =>
        Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(
            new ClaimsPrincipal(new ClaimsIdentity([claim], SchemeName)), SchemeName)));
}
