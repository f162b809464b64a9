using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using ReferralBroker.Hosting;
using ReferralBroker.Referrals;

namespace ReferralBroker.Gate;

/// <summary>
/// Who is calling, from "Authorization: Bearer &lt;key&gt;": only the key's SHA-256 is compared, against the directory's
/// organisations and staff members' personal keys, or the configured coordinator hash. The principal carries ids and
/// names, never the key.
/// </summary>
internal sealed class Callers(StoredNetworkDirectory directory, IOptions<BrokerOptions> options)
{
    public const string OrganisationIdClaim = "organisation_id";
    public const string OrganisationNameClaim = "organisation_name";
    public const string CoordinatorClaim = "network_coordinator";
    /// <summary>Which kind of key the caller used: <see cref="OrganisationKind"/>, <see cref="CaseworkerKind"/> or <see cref="CoordinatorKind"/>.</summary>
    public const string KindClaim = "caller_kind";
    public const string StaffIdClaim = "staff_id";
    /// <summary>The caller's name: the organisation's for its system key, the person's for a personal key.</summary>
    public const string NameClaim = "caller_name";

    public const string OrganisationKind = "organisation";
    public const string CaseworkerKind = "caseworker";
    public const string CoordinatorKind = "coordinator";
    public const string ConfiguredCoordinatorName = "Network coordinator";
    private const string AuthenticationType = "BearerKey";

    /// <summary>The key in "Authorization: Bearer &lt;key&gt;", or null when there is none.</summary>
    public static string? BearerKey(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }

    /// <summary>
    /// The organisation the handler acts for: set on the request by the gate's <see cref="Access.Organisation"/> rule,
    /// the same for the organisation's own key and its caseworkers' keys.
    /// </summary>
    public static Organisation OrganisationOf(HttpRequest request) =>
        new(request.HttpContext.User.FindFirstValue(OrganisationIdClaim)!, request.HttpContext.User.FindFirstValue(OrganisationNameClaim)!,
            OrganisationNotifications.None);

    /// <summary>Who holds <paramref name="key"/>, or null when nobody the broker knows does.</summary>
    public Caller? Identify(string key)
    {
        var hash = ApiKeys.Hash(key);
        if (directory.FindOrganisationByKeyHash(hash) is { } organisation)
        {
            return new Caller(OrganisationKind, Principal(OrganisationKind, organisation.Name, organisation, null), null);
        }

        if (directory.FindStaffByKeyHash(hash) is { } staff)
        {
            var kind = staff.Credential.Role == StaffRole.Coordinator ? CoordinatorKind : CaseworkerKind;
            return new Caller(kind, Principal(kind, staff.Credential.Name, staff.Organisation, staff.Credential.Id), staff.Credential);
        }

        return IsCoordinator(hash) ? new Caller(CoordinatorKind, Principal(CoordinatorKind, ConfiguredCoordinatorName, null, null), null) : null;
    }

    private bool IsCoordinator(string keyHash) =>
        options.Value.Admin.CoordinatorKeySha256 is { Length: > 0 } expected
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(keyHash), Encoding.ASCII.GetBytes(expected));

    private static ClaimsPrincipal Principal(string kind, string name, Organisation? organisation, string? staffId)
    {
        var claims = new List<Claim> { new(KindClaim, kind), new(NameClaim, name) };
        if (organisation is not null)
        {
            claims.Add(new Claim(OrganisationIdClaim, organisation.Id));
            claims.Add(new Claim(OrganisationNameClaim, organisation.Name));
        }

        if (staffId is not null)
        {
            claims.Add(new Claim(StaffIdClaim, staffId));
        }

        if (kind == CoordinatorKind)
        {
            claims.Add(new Claim(CoordinatorClaim, "true"));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, AuthenticationType));
    }
}

/// <param name="Kind">One of the <c>*Kind</c> constants of <see cref="Callers"/>.</param>
/// <param name="Staff">The personal key's credential, when it was one: its use is recorded once the gate admits it.</param>
internal sealed record Caller(string Kind, ClaimsPrincipal Principal, StaffCredential? Staff);
