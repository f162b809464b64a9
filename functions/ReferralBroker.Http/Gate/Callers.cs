using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using ReferralBroker.Hosting;
using ReferralBroker.Referrals;

namespace ReferralBroker.Gate;

/// <summary>
/// Who is calling, from "Authorization: Bearer &lt;key&gt;": only the key's SHA-256 is compared, against the directory's
/// organisations or the configured coordinator hash. The principal carries ids, never the key.
/// </summary>
internal sealed class Callers(INetworkDirectory directory, IOptions<BrokerOptions> options)
{
    public const string OrganisationIdClaim = "organisation_id";
    public const string OrganisationNameClaim = "organisation_name";
    public const string CoordinatorClaim = "network_coordinator";
    private const string AuthenticationType = "BearerKey";

    /// <summary>The key in "Authorization: Bearer &lt;key&gt;", or null when there is none.</summary>
    public static string? BearerKey(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }

    /// <summary>The organisation the handler acts for: set on the request by the gate's <see cref="Access.Organisation"/> rule.</summary>
    public static Organisation OrganisationOf(HttpRequest request) =>
        new(request.HttpContext.User.FindFirstValue(OrganisationIdClaim)!, request.HttpContext.User.FindFirstValue(OrganisationNameClaim)!,
            OrganisationNotifications.None);

    public ClaimsPrincipal? Organisation(string key) =>
        directory.FindOrganisationByKeyHash(ApiKeys.Hash(key)) is { } organisation
            ? Principal(new Claim(OrganisationIdClaim, organisation.Id), new Claim(OrganisationNameClaim, organisation.Name))
            : null;

    public bool IsCoordinator(string key) =>
        options.Value.Admin.CoordinatorKeySha256 is { Length: > 0 } expected
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(ApiKeys.Hash(key)), Encoding.ASCII.GetBytes(expected));

    public static ClaimsPrincipal Coordinator() => Principal(new Claim(CoordinatorClaim, "true"));

    private static ClaimsPrincipal Principal(params Claim[] claims) => new(new ClaimsIdentity(claims, AuthenticationType));
}
