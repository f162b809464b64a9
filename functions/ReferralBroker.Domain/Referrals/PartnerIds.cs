using System.Security.Cryptography;
using System.Text;
using ReferralBroker.Lifecycle;

namespace ReferralBroker.Referrals;

/// <summary>
/// The stable UUIDs of a partner's HSDS record (<see cref="Partner.HsdsIds"/>), one per item, keyed by what the item
/// is: <see cref="Service"/>, <see cref="Organization"/>, "language:th", "service_area:Bangkok", "category:health",
/// "safety:no-id-required", ... An item keeps its UUID as long as the partner keeps the item; a new item gets a new
/// one; a partner's organisation UUID is shared with every partner of the same provider slug. New items the
/// coordinator adds get random (version 4) UUIDs; the partners of the configuration, and records stored before
/// HSDS ids, get ids derived from their slugs (<see cref="Derived(Partner, string)"/>), so every instance and every
/// deployment of the same configuration gives them the same ones.
/// </summary>
public static class PartnerIds
{
    public const string Service = "service";
    public const string Organization = "organization";
    public const string Schedule = "schedule";
    /// <summary>Accessibility lives on an HSDS location, reached from the service through a service_at_location.</summary>
    public const string ServiceAtLocation = "service_at_location";
    public const string Location = "location";
    public const string Accessibility = "accessibility";
    /// <summary>The attribute carrying the partner's slug.</summary>
    public const string SlugAttribute = "slug";

    public static readonly IReadOnlyDictionary<string, Guid> None = new Dictionary<string, Guid>();

    private static readonly Guid Scope = new("c040d7ff-a2b8-4496-a17a-f1a1d11fc1ce");

    /// <summary>
    /// A name-based UUID: RFC 9562's version 8 with SHA-256 of <paramref name="scope"/> and <paramref name="name"/>,
    /// as its appendix shows (version 5 would need SHA-1). The same inputs give the same id everywhere.
    /// </summary>
    public static Guid Derived(Guid scope, string name)
    {
        var bytes = new byte[16 + Encoding.UTF8.GetByteCount(name)];
        scope.TryWriteBytes(bytes, bigEndian: true, out _);
        Encoding.UTF8.GetBytes(name, bytes.AsSpan(16));
        var hash = SHA256.HashData(bytes);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }

    /// <summary>The id derived from the partner's slug (its provider's, for the organisation) and the item's key.</summary>
    public static Guid Derived(Partner partner, string key) =>
        key == Organization && partner.Provider is { } provider
            ? Derived(Scope, "provider/" + provider.Id)
            : Derived(Scope, partner.Id + "/" + key);

    public static string Language(string code) => "language:" + code;

    public static string ServiceArea(string name) => "service_area:" + name;

    public static string Category(ServiceCategory category) => "category:" + WireNames.Of(category);

    public static string Safety(string attribute) => "safety:" + attribute;

    /// <summary>The keys of every item <paramref name="partner"/>'s HSDS record has.</summary>
    public static IEnumerable<string> Keys(Partner partner)
    {
        yield return Service;
        yield return Organization;
        yield return SlugAttribute;
        foreach (var code in partner.Languages)
        {
            yield return Language(code);
        }

        foreach (var area in partner.ServiceAreas)
        {
            yield return ServiceArea(area);
        }

        if (partner.Hours is not null)
        {
            yield return Schedule;
        }

        if (partner.Accessibility is not null)
        {
            yield return ServiceAtLocation;
            yield return Location;
            yield return Accessibility;
        }

        foreach (var category in partner.Categories)
        {
            yield return Category(category);
        }

        foreach (var attribute in partner.Attributes)
        {
            yield return Safety(attribute);
        }
    }

    public static bool Complete(Partner partner) => Keys(partner).All(partner.HsdsIds.ContainsKey);

    /// <summary>
    /// <paramref name="partner"/> with a UUID for each of its items: the one it was given (an import's), else the one
    /// <paramref name="current"/> (the stored record) has for the same item, else a new one. The organisation's is
    /// that of <paramref name="others"/> of the same provider slug, when there are any and none was given.
    /// </summary>
    /// <param name="derive">Derive new ids from the slug (<see cref="Derived(Partner, string)"/>) rather than mint random ones.</param>
    public static Partner Assign(Partner partner, Partner? current, IEnumerable<Partner> others, bool derive = false)
    {
        var ids = new Dictionary<string, Guid>(StringComparer.Ordinal);
        foreach (var key in Keys(partner))
        {
            if (partner.HsdsIds.TryGetValue(key, out var given))
            {
                ids[key] = given;
            }
            else if (key == Organization && partner.Provider is { } provider
                && others.FirstOrDefault(o => o.Id != partner.Id && o.Provider?.Id == provider.Id && o.HsdsIds.ContainsKey(Organization)) is { } sibling)
            {
                ids[key] = sibling.HsdsIds[Organization];
            }
            else if (current is not null && current.HsdsIds.TryGetValue(key, out var kept)
                && (key != Organization || current.Provider?.Id == partner.Provider?.Id))
            {
                ids[key] = kept;
            }
            else
            {
                ids[key] = derive ? Derived(partner, key) : Guid.NewGuid();
            }
        }

        return partner with { HsdsIds = ids };
    }
}
