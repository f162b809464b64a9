using ReferralBroker.Ports;

namespace ReferralBroker.Referrals;

/// <summary>How many distinct organisations' flags pause a partner until the coordinator reviews it.</summary>
public sealed record FlagPolicy(int FlagsToPause);

public abstract record KeyIssue
{
    /// <summary>The key itself: shown once, never stored.</summary>
    public sealed record Issued(string ApiKey) : KeyIssue;
    public sealed record UnknownOrganisation : KeyIssue;
    public sealed record Deactivated : KeyIssue;
}

public enum PartnerRemoval
{
    Removed,
    UnknownPartner,
    StillActive,
}

public abstract record FlagOutcome
{
    public sealed record Recorded(bool PartnerPaused) : FlagOutcome;
    public sealed record UnknownPartner : FlagOutcome;
}

/// <summary>
/// The coordinator's and organisations' changes to the network. Every write goes to the store first and then
/// refreshes this instance's in-memory directory; other instances pick it up on their next refresh.
/// </summary>
public sealed class NetworkAdministration(
    IDirectoryStore store, StoredNetworkDirectory directory, FlagPolicy policy, TimeProvider time, NotificationPolicy? notifications = null)
{
    private readonly TimeSpan _secretOverlap = (notifications ?? new NotificationPolicy()).WebhookSecretOverlap;

    /// <summary>
    /// Adds configured organisations and partners the store does not hold yet: configuration seeds the directory,
    /// the admin API owns it afterwards, so a key the coordinator rotated or revoked stays so across restarts.
    /// Returns the ids of the organisations this call added (their configured key is then the one in force).
    /// </summary>
    public async Task<IReadOnlySet<string>> SeedAsync(DirectoryContents configured, CancellationToken ct)
    {
        var stored = await store.LoadAsync(ct);
        var added = new HashSet<string>(StringComparer.Ordinal);
        foreach (var account in configured.Organisations.Where(a => !stored.Organisations.Any(s => s.Organisation.Id == a.Organisation.Id)))
        {
            await store.SaveOrganisationAsync(account, ct);
            added.Add(account.Organisation.Id);
        }

        // Partners stored before records carried HSDS ids get theirs now, once, and keep them from then on; derived
        // from their slugs, like those of configured partners, so instances starting together agree on them.
        var partners = stored.Partners.ToList();
        for (var i = 0; i < partners.Count; i++)
        {
            if (!PartnerIds.Complete(partners[i]))
            {
                partners[i] = PartnerIds.Assign(partners[i], partners[i], partners, derive: true);
                await store.SavePartnerAsync(partners[i], ct);
            }
        }

        foreach (var partner in configured.Partners.Where(p => !stored.Partners.Any(s => s.Id == p.Id) && !stored.RemovedPartnerIds.Contains(p.Id)))
        {
            var seeded = PartnerIds.Assign(partner, null, partners, derive: true);
            partners.Add(seeded);
            await store.SavePartnerAsync(seeded, ct);
        }

        await directory.RefreshAsync(ct);
        return added;
    }

    /// <summary>
    /// Creates or updates the organisation; its API key is left as it is. A new webhook secret replacing another keeps
    /// the other signing for the overlap (<see cref="WebhookSecrets.Carry"/>).
    /// </summary>
    public async Task<(OrganisationAccount Account, bool Created)> SaveOrganisationAsync(Organisation organisation, CancellationToken ct)
    {
        var current = await FindOrganisationAsync(organisation.Id, ct);
        organisation = organisation with
        {
            Notifications = WebhookSecrets.Carry(organisation.Notifications, current?.Organisation.Notifications, time.GetUtcNow(), _secretOverlap),
        };
        var account = new OrganisationAccount(organisation, current?.ApiKeySha256, current?.KeyIssuedAt) { DeactivatedAt = current?.DeactivatedAt };
        await store.SaveOrganisationAsync(account, ct);
        await directory.RefreshAsync(ct);
        return (account, current is null);
    }

    /// <summary>
    /// Issues a new API key and forgets the old one at once: a rotation usually follows a suspected leak, so there
    /// is no overlap in which both work. Returns the key, which is never stored and cannot be shown again.
    /// </summary>
    public async Task<KeyIssue> IssueKeyAsync(string organisationId, CancellationToken ct)
    {
        if (await FindOrganisationAsync(organisationId, ct) is not { } current)
        {
            return new KeyIssue.UnknownOrganisation();
        }

        // A key for a deactivated organisation would open nothing, and would look as if it did.
        if (!current.Active)
        {
            return new KeyIssue.Deactivated();
        }

        var key = ApiKeys.Generate();
        await store.SaveOrganisationAsync(current with { ApiKeySha256 = ApiKeys.Hash(key), KeyIssuedAt = time.GetUtcNow() }, ct);
        await directory.RefreshAsync(ct);
        return new KeyIssue.Issued(key);
    }

    /// <summary>
    /// Generates a new webhook secret for the organisation (Standard Webhooks form) and returns it: shown once, then
    /// only sealed in storage. The one it replaces keeps signing for the overlap. Null for an unknown organisation.
    /// </summary>
    /// <param name="withOverlap">False when the old secret leaked: it stops signing at once, as if the overlap were zero.</param>
    public async Task<(OrganisationAccount Account, string Secret)?> GenerateWebhookSecretAsync(string organisationId, CancellationToken ct, bool withOverlap = true)
    {
        var secret = WebhookSecrets.Generate();
        var account = await UpdateOrganisationAsync(organisationId, a => a with
        {
            Organisation = a.Organisation with
            {
                Notifications = WebhookSecrets.Carry(
                    a.Organisation.Notifications with { WebhookSecret = secret }, a.Organisation.Notifications, time.GetUtcNow(),
                    withOverlap ? _secretOverlap : TimeSpan.Zero),
            },
        }, ct);
        return account is null ? null : (account, secret);
    }

    /// <summary>
    /// Erases the webhook secrets whose rotation overlap has ended (they no longer sign anything); returns how many.
    /// Run by the sweep; until then deliveries already leave them out.
    /// </summary>
    public async Task<int> EraseRetiredWebhookSecretsAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        // The in-memory directory answers the usual case (nothing retired) without reading the store on every sweep:
        // OperationCountTests holds the sweep to its Table operations. A rotation made on another instance is in it
        // after one refresh, far inside any overlap.
        if (!directory.Organisations.Any(a => a.Organisation.Notifications.PreviousWebhookSecret?.Until <= now))
        {
            return 0;
        }

        var erased = 0;
        foreach (var account in (await store.LoadAsync(ct)).Organisations.Where(a => a.Organisation.Notifications.PreviousWebhookSecret?.Until <= now))
        {
            await UpdateOrganisationAsync(account.Organisation.Id, a => a.Organisation.Notifications.PreviousWebhookSecret?.Until <= now
                ? a with { Organisation = a.Organisation with { Notifications = a.Organisation.Notifications with { PreviousWebhookSecret = null } } }
                : a, ct);
            erased++;
        }

        return erased;
    }

    /// <summary>
    /// Forgets the organisation's key without issuing another (a leak the organisation must not be able to
    /// repeat, or a member that left): nothing opens its routes until the coordinator issues a new one.
    /// </summary>
    public Task<OrganisationAccount?> RevokeKeyAsync(string organisationId, CancellationToken ct) =>
        UpdateOrganisationAsync(organisationId, a => a with { ApiKeySha256 = null, KeyIssuedAt = null }, ct);

    /// <summary>
    /// Deactivates or reactivates the organisation. Its key is kept (a reactivated organisation carries on with
    /// it) but refused while it is deactivated; its referrals go on for partners and clients.
    /// </summary>
    public Task<OrganisationAccount?> SetActiveAsync(string organisationId, bool active, CancellationToken ct) =>
        UpdateOrganisationAsync(organisationId, a => a.Active == active ? a : a with { DeactivatedAt = active ? null : time.GetUtcNow() }, ct);

    /// <summary>
    /// Creates or updates the partner's record; whether it is paused is not the record's to change. Its HSDS ids
    /// are the ones given, else those already stored for the same items, else new (<see cref="PartnerIds.Assign"/>).
    /// </summary>
    public async Task<(Partner Partner, bool Created)> SavePartnerAsync(Partner partner, CancellationToken ct)
    {
        var partners = (await store.LoadAsync(ct)).Partners;
        var current = partners.FirstOrDefault(p => p.Id == partner.Id);
        var saved = PartnerIds.Assign(partner with { Pause = current?.Pause }, current, partners);
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

    /// <summary>Every flag in the network, newest first.</summary>
    public async Task<IReadOnlyList<PartnerFlag>> AllFlagsAsync(CancellationToken ct) =>
        [.. (await store.AllFlagsAsync(ct)).OrderByDescending(f => f.FlaggedAt).ThenBy(f => f.PartnerId, StringComparer.Ordinal)
            .ThenBy(f => f.OrganisationId, StringComparer.Ordinal)];

    /// <summary>
    /// Removes a paused partner from the directory, flags and all. Only a paused one: pausing first is the step
    /// that stops new referrals, so a removal never races a submission choosing it. Referrals already sent keep
    /// working, since the partner's link and the client's status read the referral, not the directory.
    /// </summary>
    public async Task<PartnerRemoval> RemovePartnerAsync(string partnerId, CancellationToken ct)
    {
        if (await FindPartnerAsync(partnerId, ct) is not { } current)
        {
            return PartnerRemoval.UnknownPartner;
        }

        if (!current.Paused)
        {
            return PartnerRemoval.StillActive;
        }

        await store.DeletePartnerAsync(partnerId, ct);
        await directory.RefreshAsync(ct);
        return PartnerRemoval.Removed;
    }

    private async Task<OrganisationAccount?> UpdateOrganisationAsync(
        string organisationId, Func<OrganisationAccount, OrganisationAccount> change, CancellationToken ct)
    {
        if (await FindOrganisationAsync(organisationId, ct) is not { } current)
        {
            return null;
        }

        var next = change(current);
        if (next != current)
        {
            await store.SaveOrganisationAsync(next, ct);
            await directory.RefreshAsync(ct);
        }

        return next;
    }

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
