using ReferralBroker.Ports;

namespace ReferralBroker.Referrals;

/// <summary>
/// <see cref="INetworkDirectory"/> served from memory: the whole directory, read from the store and swapped in
/// at once, so the hot path (every API key check, every submission) never waits on storage.
/// </summary>
public sealed class StoredNetworkDirectory(IDirectoryStore store) : INetworkDirectory
{
    private Snapshot _snapshot = new(
        [], new Dictionary<string, Partner>(), [], new Dictionary<string, Organisation>(), new Dictionary<string, StaffMember>());

    public IReadOnlyList<Partner> Partners => Volatile.Read(ref _snapshot).Partners;

    public IReadOnlyList<OrganisationAccount> Organisations => Volatile.Read(ref _snapshot).Organisations;

    public Partner? FindPartner(string partnerId) => Volatile.Read(ref _snapshot).PartnersById.GetValueOrDefault(partnerId);

    public Organisation? FindOrganisationByKeyHash(string apiKeyHash) =>
        Volatile.Read(ref _snapshot).ByKeyHash.GetValueOrDefault(apiKeyHash);

    /// <summary>
    /// The staff member whose personal key has this hash: a coordinator, or a caseworker of an active organisation
    /// (a deactivated organisation's staff keys are, like its own key, keys nobody holds).
    /// </summary>
    public StaffMember? FindStaffByKeyHash(string keyHash) => Volatile.Read(ref _snapshot).StaffByKeyHash.GetValueOrDefault(keyHash);

    public Organisation? FindOrganisation(string organisationId) =>
        Volatile.Read(ref _snapshot).Organisations.FirstOrDefault(o => o.Organisation.Id == organisationId)?.Organisation;

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var contents = await store.LoadAsync(cancellationToken);
        var organisations = contents.Organisations.OrderBy(o => o.Organisation.Id, StringComparer.Ordinal).ToList();
        var byKeyHash = new Dictionary<string, Organisation>(StringComparer.Ordinal);
        // A deactivated organisation's key is not looked up at all: to the gate it is a key nobody holds.
        foreach (var account in organisations.Where(o => o.ApiKeySha256 is not null && o.Active))
        {
            byKeyHash[account.ApiKeySha256!] = account.Organisation;
        }

        var active = organisations.Where(o => o.Active).ToDictionary(o => o.Organisation.Id, o => o.Organisation, StringComparer.Ordinal);
        var staffByKeyHash = new Dictionary<string, StaffMember>(StringComparer.Ordinal);
        foreach (var credential in contents.Staff)
        {
            if (credential.Role == StaffRole.Coordinator)
            {
                staffByKeyHash[credential.KeySha256] = new StaffMember(credential, null);
            }
            else if (credential.OrganisationId is { } organisationId && active.TryGetValue(organisationId, out var organisation))
            {
                staffByKeyHash[credential.KeySha256] = new StaffMember(credential, organisation);
            }
        }

        Volatile.Write(ref _snapshot, new Snapshot(
            [.. contents.Partners.OrderBy(p => p.Id, StringComparer.Ordinal)],
            contents.Partners.ToDictionary(p => p.Id, StringComparer.Ordinal),
            organisations,
            byKeyHash,
            staffByKeyHash));
    }

    private sealed record Snapshot(
        IReadOnlyList<Partner> Partners,
        IReadOnlyDictionary<string, Partner> PartnersById,
        IReadOnlyList<OrganisationAccount> Organisations,
        IReadOnlyDictionary<string, Organisation> ByKeyHash,
        IReadOnlyDictionary<string, StaffMember> StaffByKeyHash);
}
