using System.Security.Cryptography;
using System.Text;
using ReferralBroker.Hosting;
using ReferralBroker.Lifecycle;
using ReferralBroker.Referrals;

namespace ReferralBroker.Partners;

/// <summary>The network as configured: a small, slowly changing list that lives in settings, not in storage.</summary>
internal sealed class ConfiguredNetworkDirectory : INetworkDirectory
{
    private readonly Dictionary<string, Partner> _partners;
    private readonly Dictionary<string, Organisation> _organisationsByKeyHash;
    private readonly Dictionary<string, Organisation> _organisationsById;

    public ConfiguredNetworkDirectory(IEnumerable<PartnerOptions> partners, IEnumerable<OrganisationOptions> organisations)
    {
        Partners = [.. partners.Select(p => new Partner(
            p.Id,
            p.Name,
            p.Email,
            [.. p.Categories.Select(c => WireNames.TryParse(c, out ServiceCategory category) ? category : throw new ArgumentException(c))],
            [.. p.Languages]))];
        _partners = Partners.ToDictionary(p => p.Id, StringComparer.Ordinal);
        var configured = organisations.Select(o => (o.ApiKeySha256, Organisation: new Organisation(o.Id, o.Name, o.ToNotifications()))).ToList();
        _organisationsByKeyHash = configured.ToDictionary(o => o.ApiKeySha256, o => o.Organisation, StringComparer.Ordinal);
        _organisationsById = configured.DistinctBy(o => o.Organisation.Id).ToDictionary(o => o.Organisation.Id, o => o.Organisation, StringComparer.Ordinal);
    }

    public IReadOnlyList<Partner> Partners { get; }

    public Partner? FindPartner(string partnerId) => _partners.GetValueOrDefault(partnerId);

    public Organisation? FindOrganisationByKeyHash(string apiKeyHash) => _organisationsByKeyHash.GetValueOrDefault(apiKeyHash);

    public Organisation? FindOrganisation(string organisationId) => _organisationsById.GetValueOrDefault(organisationId);

    public static string HashApiKey(string apiKey) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(apiKey)));
}
