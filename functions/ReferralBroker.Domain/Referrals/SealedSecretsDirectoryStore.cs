using ReferralBroker.Ports;
using ReferralBroker.Sealing;
using ReferralBroker.Tokens;

namespace ReferralBroker.Referrals;

/// <summary>
/// Keeps organisations' webhook secrets sealed at rest (AES-GCM under a key derived from the pepper, bound to the
/// organisation's id), whatever the storage: the broker needs them in clear to sign, but a copy of its database
/// or tables alone must not let anyone forge the broker's calls to an organisation.
/// </summary>
public sealed class SealedSecretsDirectoryStore(IDirectoryStore inner, Pepper pepper) : IDirectoryStore
{
    private readonly byte[] _key = pepper.DeriveKey("webhook-secret", []);

    public async Task<DirectoryContents> LoadAsync(CancellationToken cancellationToken)
    {
        var contents = await inner.LoadAsync(cancellationToken);
        return contents with { Organisations = [.. contents.Organisations.Select(a => WithSecret(a, s => ReferralSeal.OpenText(_key, s, a.Organisation.Id)))] };
    }

    public Task SaveOrganisationAsync(OrganisationAccount account, CancellationToken cancellationToken) =>
        inner.SaveOrganisationAsync(WithSecret(account, s => ReferralSeal.SealText(_key, s, account.Organisation.Id)), cancellationToken);

    public Task SavePartnerAsync(Partner partner, CancellationToken cancellationToken) => inner.SavePartnerAsync(partner, cancellationToken);

    public Task AddFlagAsync(PartnerFlag flag, CancellationToken cancellationToken) => inner.AddFlagAsync(flag, cancellationToken);

    public Task<IReadOnlyList<PartnerFlag>> FlagsAsync(string partnerId, CancellationToken cancellationToken) => inner.FlagsAsync(partnerId, cancellationToken);

    public Task ClearFlagsAsync(string partnerId, CancellationToken cancellationToken) => inner.ClearFlagsAsync(partnerId, cancellationToken);

    public Task<IReadOnlyList<PartnerFlag>> AllFlagsAsync(CancellationToken cancellationToken) => inner.AllFlagsAsync(cancellationToken);

    public Task DeletePartnerAsync(string partnerId, CancellationToken cancellationToken) => inner.DeletePartnerAsync(partnerId, cancellationToken);
    public Task SaveStaffAsync(StaffCredential credential, CancellationToken cancellationToken) => inner.SaveStaffAsync(credential, cancellationToken);

    public Task DeleteStaffAsync(string staffId, CancellationToken cancellationToken) => inner.DeleteStaffAsync(staffId, cancellationToken);

    public Task RecordStaffUseAsync(string staffId, DateTimeOffset day, CancellationToken cancellationToken) =>
        inner.RecordStaffUseAsync(staffId, day, cancellationToken);

    private static OrganisationAccount WithSecret(OrganisationAccount account, Func<string, string> transform)
    {
        var notifications = account.Organisation.Notifications;
        if (notifications.WebhookSecret is null && notifications.PreviousWebhookSecret is null)
        {
            return account;
        }

        // The secret a rotation replaced is sealed like the current one: it still signs until its overlap ends.
        return account with
        {
            Organisation = account.Organisation with
            {
                Notifications = notifications with
                {
                    WebhookSecret = notifications.WebhookSecret is { } secret ? transform(secret) : null,
                    PreviousWebhookSecret = notifications.PreviousWebhookSecret is { } previous
                        ? previous with { Secret = transform(previous.Secret) }
                        : null,
                },
            },
        };
    }
}
