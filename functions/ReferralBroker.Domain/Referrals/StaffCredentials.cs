using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using ReferralBroker.Ports;
using ReferralBroker.Tokens;

namespace ReferralBroker.Referrals;

public enum StaffRole
{
    /// <summary>Acts as her organisation on its routes (referrals, flags, reports), never on its staff list.</summary>
    Caseworker,

    /// <summary>Acts as the network coordinator on the admin API.</summary>
    Coordinator,
}

/// <summary>
/// One person's own key: issued by the coordinator (or by an organisation for its caseworkers), listed with name and
/// last use, revoked alone. Only the key's SHA-256 is kept, as for organisations' keys.
/// </summary>
/// <param name="OrganisationId">The caseworker's organisation; null for a coordinator.</param>
public sealed record StaffCredential(
    string Id, string Name, StaffRole Role, string? OrganisationId, string KeySha256, DateTimeOffset CreatedAt)
{
    /// <summary>The day (UTC midnight) the key was last used; written at most once an hour, see <see cref="StaffKeyUses"/>.</summary>
    public DateTimeOffset? LastUsedAt { get; init; }
}

/// <summary>A recognised personal key, with the organisation a caseworker acts for (null for a coordinator).</summary>
public sealed record StaffMember(StaffCredential Credential, Organisation? Organisation);

/// <summary>Personal keys: "rbs_" and 256 random bits (43 base64url characters), shown once, kept as SHA-256.</summary>
public static class StaffKeys
{
    public const string KeyPrefix = "rbs_";
    public const string IdPrefix = "stf_";
    public const int MaxNameLength = 100;

    public static string Generate() => KeyPrefix + Base64Url.Encode(RandomNumberGenerator.GetBytes(32));

    /// <summary>An id says nothing of the person: 128 random bits.</summary>
    public static string NewId() => IdPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>The day a use falls on: last use is kept to the day, which is all a list of staff needs.</summary>
    public static DateTimeOffset Day(DateTimeOffset at) => new(at.UtcDateTime.Date, TimeSpan.Zero);
}

public abstract record StaffIssue
{
    /// <summary>The key itself: shown once, never stored.</summary>
    public sealed record Issued(StaffCredential Credential, string Key) : StaffIssue;
    public sealed record UnknownOrganisation : StaffIssue;
    public sealed record Deactivated : StaffIssue;
}

/// <summary>
/// Issues, lists and revokes personal keys. Like <see cref="NetworkAdministration"/>, every write goes to the store
/// and then refreshes this instance's directory, so a new key works and a revoked one stops at once here.
/// </summary>
public sealed class StaffAdministration(IDirectoryStore store, StoredNetworkDirectory directory, TimeProvider time)
{
    /// <param name="organisationId">The caseworker's organisation; null for a coordinator.</param>
    public async Task<StaffIssue> IssueAsync(string name, StaffRole role, string? organisationId, CancellationToken ct)
    {
        if (organisationId is not null)
        {
            var account = (await store.LoadAsync(ct)).Organisations.FirstOrDefault(o => o.Organisation.Id == organisationId);
            if (account is null)
            {
                return new StaffIssue.UnknownOrganisation();
            }

            // A key for a deactivated organisation's caseworker would open nothing, and would look as if it did.
            if (!account.Active)
            {
                return new StaffIssue.Deactivated();
            }
        }

        var key = StaffKeys.Generate();
        var credential = new StaffCredential(StaffKeys.NewId(), name, role, organisationId, ApiKeys.Hash(key), time.GetUtcNow());
        await store.SaveStaffAsync(credential, ct);
        await directory.RefreshAsync(ct);
        return new StaffIssue.Issued(credential, key);
    }

    /// <summary>
    /// Every personal key (or one organisation's caseworkers'), newest first, read from the store: another instance
    /// may have issued one, and last use is written there, not into this instance's snapshot.
    /// </summary>
    public async Task<IReadOnlyList<StaffCredential>> ListAsync(string? organisationId, CancellationToken ct) =>
        [.. (await store.LoadAsync(ct)).Staff
            .Where(s => organisationId is null || (s.Role == StaffRole.Caseworker && s.OrganisationId == organisationId))
            .OrderByDescending(s => s.CreatedAt).ThenBy(s => s.Id, StringComparer.Ordinal)];

    /// <summary>
    /// Forgets the key's hash: nothing else of anyone changes. Within <paramref name="organisationId"/> when given
    /// (an organisation revokes only its own caseworkers'); false when there is no such key there.
    /// </summary>
    public async Task<bool> RevokeAsync(string staffId, string? organisationId, CancellationToken ct)
    {
        var current = (await store.LoadAsync(ct)).Staff.FirstOrDefault(s => s.Id == staffId);
        if (current is null || (organisationId is not null && (current.Role != StaffRole.Caseworker || current.OrganisationId != organisationId)))
        {
            return false;
        }

        await store.DeleteStaffAsync(staffId, ct);
        await directory.RefreshAsync(ct);
        return true;
    }
}

/// <summary>
/// Records when personal keys are used, to the day, off the request's path: the gate hands a use over and answers at
/// once; <see cref="RecordAsync"/> writes it. A key is written at most once an hour (a failed write is tried again an
/// hour later, never on every request), and not at all once it is known to be used today.
/// </summary>
public sealed partial class StaffKeyUses(IDirectoryStore store, TimeProvider time, ILogger<StaffKeyUses> logger)
{
    private static readonly TimeSpan MinInterval = TimeSpan.FromHours(1);

    /// <summary>Bounded: a use dropped when the writer is far behind is only a day's last use, written next hour.</summary>
    private readonly Channel<(string StaffId, DateTimeOffset Day)> _uses =
        Channel.CreateBounded<(string, DateTimeOffset)>(new BoundedChannelOptions(1024) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    private readonly Dictionary<string, Written> _written = new(StringComparer.Ordinal);

    /// <summary>The key was used now. Never waits: at most a dictionary look-up and a queued item.</summary>
    public void Seen(StaffCredential credential)
    {
        var now = time.GetUtcNow();
        var day = StaffKeys.Day(now);
        if (credential.LastUsedAt >= day)
        {
            return;
        }

        lock (_written)
        {
            if (_written.TryGetValue(credential.Id, out var last) && (last.Recorded == day || now - last.Attempted < MinInterval))
            {
                return;
            }

            _written[credential.Id] = new Written(now, last?.Recorded);
        }

        if (!_uses.Writer.TryWrite((credential.Id, day)))
        {
            LogDropped(logger, credential.Id);
        }
    }

    /// <summary>Writes each use handed over until <see cref="Complete"/>, then what is left.</summary>
    public async Task RecordAsync(CancellationToken giveUp)
    {
        await foreach (var (staffId, day) in _uses.Reader.ReadAllAsync(CancellationToken.None))
        {
            try
            {
                await store.RecordStaffUseAsync(staffId, day, giveUp);
                lock (_written)
                {
                    if (_written.TryGetValue(staffId, out var last))
                    {
                        _written[staffId] = last with { Recorded = day };
                    }
                }
            }
            catch (Exception e)
            {
                // Tried again an hour later, on its next use: last use is a convenience, never worth a retry loop.
                LogFailed(logger, staffId, e.GetType().Name);
            }
        }
    }

    /// <summary>No more uses will come: <see cref="RecordAsync"/> writes what it holds and returns.</summary>
    public void Complete() => _uses.Writer.TryComplete();

    private sealed record Written(DateTimeOffset Attempted, DateTimeOffset? Recorded);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Last use of staff key {StaffId} not recorded ({Error}); tried again on a use an hour from now")]
    private static partial void LogFailed(ILogger logger, string staffId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Last use of staff key {StaffId} not queued: the writer is behind")]
    private static partial void LogDropped(ILogger logger, string staffId);
}
