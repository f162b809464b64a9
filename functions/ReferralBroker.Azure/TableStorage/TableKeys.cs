using System.Globalization;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using ReferralBroker.Lifecycle;
using ReferralBroker.Referrals;

namespace ReferralBroker.Azure.TableStorage;

/// <summary>
/// Every decision about where an entity lives and when the sweep must look at it. Kept pure so that the layout
/// can be tested without a storage service and read in one place.
/// </summary>
/// <remarks>
/// Layout of the referrals table:
/// <list type="bullet">
/// <item>record: PartitionKey = referral id, RowKey = <see cref="RecordRow"/>. One partition per referral spreads
/// load and keeps point reads cheap.</item>
/// <item>token index: PartitionKey = the token's keyed hash, RowKey = <see cref="TokenIndexRow"/>, holding the
/// referral id. A lookup by token needs its own partition key, so it is a second entity; the two cannot share an
/// entity group transaction.</item>
/// <item>organisation index: PartitionKey = <see cref="OrganisationPartition"/>, RowKey = <see cref="OrganisationRow"/>,
/// holding the referral id and its category. One partition per organisation whose row keys sort newest first, so an
/// organisation's list is one range query; the status is read from the record, which alone is kept current.</item>
/// <item>report counters: PartitionKey = <see cref="ReportCounterPartition"/> (one per month), RowKey =
/// <see cref="ReportCounterRow"/>: what reports keep of purged referrals, with no referral id, token or partner.</item>
/// </list>
/// Every kind but the counters carries <see cref="DueAtProperty"/>, so the sweep finds everything it must look at with one filter.
/// The idempotency table holds one entity per key hash.
/// </remarks>
internal static partial class TableKeys
{
    public const string RecordRow = "referral";
    public const string TokenIndexRow = "token";
    public const string IdempotencyRow = "idempotency";
    public const string DueAtProperty = "DueAt";
    public const string ExpiresAtProperty = "ExpiresAt";

    /// <summary>The service allows 1 KiB; strings are UTF-16 there, so characters count twice.</summary>
    public const int MaxKeyLength = 512;

    /// <summary>Leaves room for the longest suffix within the 63 characters a table name may have.</summary>
    public const int MaxTablePrefixLength = 40;

    public static string ReferralsTable(string prefix) => prefix + "referrals";

    public static string IdempotencyTable(string prefix) => prefix + "idempotency";

    public static string DirectoryTable(string prefix) => prefix + "directory";

    public const string OrganisationsPartition = "organisation";
    public const string PartnersPartition = "partner";

    public static EntityKey Organisation(string organisationId) => new(OrganisationsPartition, RequireKey(organisationId, nameof(organisationId)));

    public const string StaffPartition = "staff";

    public static EntityKey Staff(string staffId) => new(StaffPartition, RequireKey(staffId, nameof(staffId)));

    public static EntityKey Partner(string partnerId) => new(PartnersPartition, RequireKey(partnerId, nameof(partnerId)));

    /// <summary>One partition per flagged partner, one row per flagging organisation: a repeat flag replaces the last.</summary>
    public static EntityKey Flag(string partnerId, string organisationId) =>
        new(FlagsPartition(partnerId), RequireKey(organisationId, nameof(organisationId)));

    public static string FlagsPartition(string partnerId) => "flag." + RequireKey(partnerId, nameof(partnerId));

    public static string InPartition(string partitionKey) => TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey}");

    public static EntityKey Record(string referralId) => new(RequireKey(referralId, nameof(referralId)), RecordRow);

    public static EntityKey TokenIndex(string tokenHash) => new(RequireKey(tokenHash, nameof(tokenHash)), TokenIndexRow);

    public const string OrganisationPartitionPrefix = "org:";
    public const string ReportCounterPartitionPrefix = "report:";

    /// <summary>One partition per month: a report over a range of months is one PartitionKey range query.</summary>
    public static string ReportCounterPartition(DateOnly month) =>
        ReportCounterPartitionPrefix + month.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    /// <summary>The counter of one kind of fact; null when the organisation id cannot be part of a key.</summary>
    public static EntityKey? ReportCounter(Reports.ReportFact fact)
    {
        var row = string.Join('|', fact.OrganisationId, WireNames.Of(fact.Category), WireNames.Of(fact.Outcome),
            fact.HoursToAcceptance?.ToString(CultureInfo.InvariantCulture) ?? "-", fact.HoursToCompletion?.ToString(CultureInfo.InvariantCulture) ?? "-");
        return IsValidKey(row) ? new EntityKey(ReportCounterPartition(fact.Month), row) : null;
    }

    /// <summary>The counters of months in [<paramref name="fromMonth"/>, <paramref name="untilMonth"/>).</summary>
    public static string ReportCounterFilter(DateOnly fromMonth, DateOnly untilMonth) =>
        TableClient.CreateQueryFilter($"PartitionKey ge {ReportCounterPartition(fromMonth)} and PartitionKey lt {ReportCounterPartition(untilMonth)}");

    /// <summary>Milliseconds since the epoch, counted down from the last representable one, fixed width.</summary>
    private static readonly long MaxMillis = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    public static string OrganisationPartition(string organisationId) =>
        RequireKey(OrganisationPartitionPrefix + organisationId, nameof(organisationId));

    /// <summary>Sorts an organisation's referrals newest first (to the millisecond), then by referral id.</summary>
    public static string OrganisationRow(DateTimeOffset createdAt, string referralId) =>
        RequireKey($"{NewestFirst(createdAt)}_{referralId}", nameof(referralId));

    public static EntityKey OrganisationIndex(string organisationId, DateTimeOffset createdAt, string referralId) =>
        new(OrganisationPartition(organisationId), OrganisationRow(createdAt, referralId));

    public static bool IsOrganisationIndex(EntityKey key) => key.PartitionKey.StartsWith(OrganisationPartitionPrefix, StringComparison.Ordinal);

    /// <summary>
    /// The filter for one page of <paramref name="query"/> over the organisation index: the partition, the creation
    /// range and the cursor as row-key bounds, the category as a property. The status is not here: it changes, and
    /// only the record holds it.
    /// </summary>
    public static string OrganisationFilter(ReferralQuery query)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {OrganisationPartition(query.OrganisationId)}");
        // Rows are "<newest-first millis>_<id>": every row created before `before` sorts at or after this prefix.
        if (query.CreatedBefore is { } before)
        {
            filter += TableClient.CreateQueryFilter($" and RowKey ge {NewestFirst(before.AddMilliseconds(-1))}");
        }

        if (query.CreatedFrom is { } from)
        {
            filter += TableClient.CreateQueryFilter($" and RowKey lt {NewestFirst(from.AddMilliseconds(-1))}");
        }

        if (query.After is { } after)
        {
            filter += TableClient.CreateQueryFilter($" and RowKey gt {OrganisationRow(after.CreatedAt, after.ReferralId)}");
        }

        if (query.Category is { } category)
        {
            filter += TableClient.CreateQueryFilter($" and Category eq {WireNames.Of(category)}");
        }

        return filter;
    }

    private static string NewestFirst(DateTimeOffset at) =>
        (MaxMillis - Math.Clamp(at.ToUnixTimeMilliseconds(), 0, MaxMillis)).ToString("D15", CultureInfo.InvariantCulture);

    public static EntityKey Idempotency(string keyHash) => new(RequireKey(keyHash, nameof(keyHash)), IdempotencyRow);

    public static bool IsValidTablePrefix(string? prefix) =>
        prefix is { Length: > 0 and <= MaxTablePrefixLength } && TablePrefixPattern().IsMatch(prefix);

    /// <summary>
    /// Whether the service would accept <paramref name="key"/> as a PartitionKey or RowKey. Ids arrive from URLs,
    /// so a key that cannot exist must read as "not found" rather than as a service error.
    /// </summary>
    public static bool IsValidKey(string? key) => key is { Length: > 0 and <= MaxKeyLength } && !ForbiddenKeyCharacter().IsMatch(key);

    public static string OnOrBefore(string property, DateTimeOffset value) => property + TableClient.CreateQueryFilter($" le {value}");

    /// <summary>
    /// The earliest moment at which <see cref="Transitions.DueAction"/> stops answering None for this record, or a
    /// notification falls due: <c>DueAction(record, now) != None || NotifyAt &lt;= now</c> exactly when
    /// <c>DueAt(record) &lt;= now</c>. Storing it lets the sweep ask the service for due records only instead of
    /// reading every record it holds.
    /// </summary>
    public static DateTimeOffset DueAt(ReferralRecord record)
    {
        var due = record.PurgeAt;
        if (record.Status is ReferralStatus.Submitted or ReferralStatus.Delivered && record.ExpiresAt < due)
        {
            due = record.ExpiresAt;
        }

        if (record is { Sealed: not null, SealedDeleteAt: { } sealedDeleteAt } && sealedDeleteAt < due)
        {
            due = sealedDeleteAt;
        }

        if (record.NotifyAt is { } notifyAt && notifyAt < due)
        {
            due = notifyAt;
        }

        return due;
    }

    private static string RequireKey(string key, string parameterName) =>
        IsValidKey(key)
            ? key
            // The value is deliberately left out: keys are hashes of secrets or ids from requests.
            : throw new ArgumentException("Not usable as a Table Storage key.", parameterName);

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9]*$", RegexOptions.CultureInvariant)]
    private static partial Regex TablePrefixPattern();

    [GeneratedRegex(@"[/\\#?\u0000-\u001f\u007f-\u009f]", RegexOptions.CultureInvariant)]
    private static partial Regex ForbiddenKeyCharacter();
}

internal readonly record struct EntityKey(string PartitionKey, string RowKey);
