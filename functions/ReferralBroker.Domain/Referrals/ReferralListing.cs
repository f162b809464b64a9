using System.Globalization;
using System.Text;
using ReferralBroker.Lifecycle;
using ReferralBroker.Tokens;

namespace ReferralBroker.Referrals;

/// <summary>
/// Where a page of an organisation's list ends. The list runs newest first by creation time to the millisecond
/// (what every store can index), then by id in ascending order (what Table Storage's row keys sort by).
/// </summary>
public sealed record ReferralCursor(DateTimeOffset CreatedAt, string ReferralId)
{
    private const string Version = "1";

    /// <summary>Opaque to callers; it only positions a list that is always limited to the caller's organisation.</summary>
    public string Encode() => Base64Url.Encode(Encoding.UTF8.GetBytes(
        $"{Version}|{CreatedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}|{ReferralId}"));

    public static ReferralCursor Of(ReferralRecord record) => new(ToMillisecond(record.CreatedAt), record.ReferralId);

    public static ReferralCursor? TryDecode(string? token)
    {
        if (Base64Url.TryDecode(token) is not { } bytes)
        {
            return null;
        }

        var parts = Encoding.UTF8.GetString(bytes).Split('|');
        return parts is [Version, var ticks, { Length: > 0 } id]
            && long.TryParse(ticks, NumberStyles.None, CultureInfo.InvariantCulture, out var millis)
            && millis <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()
                ? new ReferralCursor(DateTimeOffset.FromUnixTimeMilliseconds(millis), id)
                : null;
    }

    /// <summary>Whether a referral comes after this cursor in the newest-first order.</summary>
    public bool Precedes(DateTimeOffset createdAt, string referralId) =>
        ToMillisecond(createdAt) < CreatedAt
        || (ToMillisecond(createdAt) == CreatedAt && string.CompareOrdinal(referralId, ReferralId) > 0);

    public static DateTimeOffset ToMillisecond(DateTimeOffset at) => DateTimeOffset.FromUnixTimeMilliseconds(at.ToUnixTimeMilliseconds());
}

/// <summary>
/// One organisation's referrals, newest first. <paramref name="CreatedFrom"/> is inclusive and
/// <paramref name="CreatedBefore"/> exclusive.
/// </summary>
public sealed record ReferralQuery(
    string OrganisationId,
    ReferralStatus? Status = null,
    ServiceCategory? Category = null,
    DateTimeOffset? CreatedFrom = null,
    DateTimeOffset? CreatedBefore = null,
    int Limit = ReferralQuery.DefaultLimit,
    ReferralCursor? After = null)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    public bool Matches(ReferralRecord record) =>
        record.OrganisationId == OrganisationId
        && (Status is null || record.Status == Status)
        && (Category is null || record.Category == Category)
        && (CreatedFrom is null || ReferralCursor.ToMillisecond(record.CreatedAt) >= CreatedFrom)
        && (CreatedBefore is null || ReferralCursor.ToMillisecond(record.CreatedAt) < CreatedBefore)
        && (After is null || After.Precedes(record.CreatedAt, record.ReferralId));
}

/// <summary>A page may hold fewer than the limit while <paramref name="Next"/> is set; follow it until it is null.</summary>
public sealed record ReferralPage(IReadOnlyList<ReferralRecord> Items, ReferralCursor? Next);
