using ReferralBroker.Ports;

namespace ReferralBroker.Referrals;

/// <summary>How many distinct organisations' flags pause a partner until the coordinator reviews it.</summary>
public sealed record FlagPolicy(int FlagsToPause);

public abstract record FlagOutcome
{
    public sealed record Recorded(bool PartnerPaused) : FlagOutcome;
    public sealed record UnknownPartner : FlagOutcome;
}

/// <summary>
/// The coordinator's and organisations' changes to the network. Every write goes to the store first and then
/// refreshes this instance's in-memory directory; other instances pick it up on their next refresh.
/// </summary>
public sealed class NetworkAdministration(IDirectoryStore store, StoredNetworkDirectory directory, FlagPolicy policy, TimeProvider time)
{
    /// <summary>
    /// Adds configured organisations and partners the store does not hold yet: configuration seeds the directory,
    /// the admin API owns it afterwards. Keys of <paramref name="keysFromConfiguration"/> (the demo organisation,
    /// whose key may be new at every start) are set from configuration every time.
    /// </summary>
    public async Task SeedAsync(DirectoryContents configured, IReadOnlySet<string> keysFromConfiguration, CancellationToken ct)
    {
        var stored = await store.LoadAsync(ct);
        foreach (var account in configured.Organisations)
        {
            var existing = stored.Organisations.FirstOrDefault(o => o.Organisation.Id == account.Organisation.Id);
            if (existing is null)
            {
                await store.SaveOrganisationAsync(account, ct);
            }
            else if (keysFromConfiguration.Contains(account.Organisation.Id) && existing.ApiKeySha256 != account.ApiKeySha256)
            {
                await store.SaveOrganisationAsync(existing with { ApiKeySha256 = account.ApiKeySha256, KeyIssuedAt = account.KeyIssuedAt }, ct);
            }
        }

        foreach (var partner in configured.Partners.Where(p => !stored.Partners.Any(s => s.Id == p.Id)))
        {
            await store.SavePartnerAsync(partner, ct);
        }

        await directory.RefreshAsync(ct);
    }

    /// <summary>Creates or updates the organisation; its API key is left as it is.</summary>
    public async Task<(OrganisationAccount Account, bool Created)> SaveOrganisationAsync(Organisation organisation, CancellationToken ct)
    {
        var current = await FindOrganisationAsync(organisation.Id, ct);
        var account = new OrganisationAccount(organisation, current?.ApiKeySha256, current?.KeyIssuedAt);
        await store.SaveOrganisationAsync(account, ct);
        await directory.RefreshAsync(ct);
        return (account, current is null);
    }

    /// <summary>
    /// Issues a new API key and forgets the old one at once: a rotation usually follows a suspected leak, so there
    /// is no overlap in which both work. Returns the key, which is never stored and cannot be shown again.
    /// </summary>
    public async Task<string?> IssueKeyAsync(string organisationId, CancellationToken ct)
    {
        if (await FindOrganisationAsync(organisationId, ct) is not { } current)
        {
            return null;
        }

        var key = ApiKeys.Generate();
        await store.SaveOrganisationAsync(current with { ApiKeySha256 = ApiKeys.Hash(key), KeyIssuedAt = time.GetUtcNow() }, ct);
        await directory.RefreshAsync(ct);
        return key;
    }

    /// <summary>Creates or updates the partner's record; whether it is paused is not the record's to change.</summary>
    public async Task<(Partner Partner, bool Created)> SavePartnerAsync(Partner partner, CancellationToken ct)
    {
        var current = await FindPartnerAsync(partner.Id, ct);
        var saved = partner with { Pause = current?.Pause };
        await store.SavePartnerAsync(saved, ct);
        await directory.RefreshAsync(ct);
        return (saved, current is null);
    }

    public Task<Partner?> PauseAsync(string partnerId, CancellationToken ct) =>
        UpdatePartnerAsync(partnerId, p => p.Pause is null ? p with { Pause = new PartnerPause(PauseCause.Coordinator, time.GetUtcNow()) } : p, ct);

    /// <summary>The coordinator has reviewed the partner: referrals flow again and its flags are cleared.</summary>
    public async Task<Partner?> ResumeAsync(string partnerId, CancellationToken ct)
    {
        var resumed = await UpdatePartnerAsync(partnerId, p => p with { Pause = null }, ct);
        if (resumed is not null)
        {
            await store.ClearFlagsAsync(partnerId, ct);
        }

        return resumed;
    }

    public async Task<FlagOutcome> FlagAsync(string organisationId, string partnerId, string reason, CancellationToken ct)
    {
        if (await FindPartnerAsync(partnerId, ct) is null)
        {
            return new FlagOutcome.UnknownPartner();
        }

        var now = time.GetUtcNow();
        await store.AddFlagAsync(new PartnerFlag(partnerId, organisationId, reason, now), ct);
        var organisations = (await store.FlagsAsync(partnerId, ct)).Select(f => f.OrganisationId).Distinct(StringComparer.Ordinal).Count();
        if (organisations < policy.FlagsToPause)
        {
            return new FlagOutcome.Recorded(false);
        }

        await UpdatePartnerAsync(partnerId, p => p.Pause is null ? p with { Pause = new PartnerPause(PauseCause.Flags, now) } : p, ct);
        return new FlagOutcome.Recorded(true);
    }

    public Task<IReadOnlyList<PartnerFlag>> FlagsAsync(string partnerId, CancellationToken ct) => store.FlagsAsync(partnerId, ct);

    private async Task<Partner?> UpdatePartnerAsync(string partnerId, Func<Partner, Partner> change, CancellationToken ct)
    {
        if (await FindPartnerAsync(partnerId, ct) is not { } current)
        {
            return null;
        }

        var next = change(current);
        if (next != current)
        {
            await store.SavePartnerAsync(next, ct);
            await directory.RefreshAsync(ct);
        }

        return next;
    }

    // Read from the store, not the snapshot: another instance may have written since this one last refreshed.
    private async Task<Partner?> FindPartnerAsync(string partnerId, CancellationToken ct) =>
        (await store.LoadAsync(ct)).Partners.FirstOrDefault(p => p.Id == partnerId);

    private async Task<OrganisationAccount?> FindOrganisationAsync(string organisationId, CancellationToken ct) =>
        (await store.LoadAsync(ct)).Organisations.FirstOrDefault(o => o.Organisation.Id == organisationId);
}
