using System.Text.Json;
using System.Text.Json.Serialization;
using ReferralBroker.Http;
using ReferralBroker.Referrals;

namespace ReferralBroker.Admin;

/// <summary>
/// The organisation's "partnerContact" setting in <c>PUT /api/admin/organisations/{id}</c>: whether partners see its
/// name, and the contact route they are given ("contact through the referring organisation").
/// </summary>
internal static class PartnerContactSetting
{
    public const string Property = "partnerContact";
    private static readonly string[] Properties = ["named", "contact"];

    /// <summary>
    /// Absent keeps the current setting (a client that does not know the setting must not undo an organisation's
    /// choice not to be named); null restores the default. Within the object, an absent member keeps its value too.
    /// </summary>
    public static PartnerContact? Read(
        JsonElement root, PartnerContact? current, Dictionary<string, string[]> malformed, Dictionary<string, string[]> invalid)
    {
        current ??= PartnerContact.Default;
        if (!root.TryGetProperty(Property, out var element))
        {
            return current;
        }

        if (element.ValueKind == JsonValueKind.Null)
        {
            return PartnerContact.Default;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            malformed[Property] = ["Must be an object: {\"named\": true|false, \"contact\": \"...\"|null}."];
            return null;
        }

        RequestBody.RejectUnknown(element, Property, Properties, malformed);
        var named = current.Named;
        if (element.TryGetProperty("named", out var flag))
        {
            if (flag.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                named = flag.GetBoolean();
            }
            else
            {
                malformed[$"{Property}.named"] = ["Must be true or false."];
            }
        }

        var contact = current.Contact;
        if (element.TryGetProperty("contact", out _))
        {
            contact = RequestBody.String(element, "contact", Property, malformed)?.Trim() is { Length: > 0 } text ? text : null;
            if (contact is { Length: > PartnerContact.MaxContactLength } || (contact is not null && !IsOneLine(contact)))
            {
                invalid[$"{Property}.contact"] =
                    [$"At most {PartnerContact.MaxContactLength} characters on one line: how a partner reaches your staff, e.g. a phone number and hours."];
            }
        }

        return new PartnerContact(named, contact);
    }

    /// <summary>No control characters, nor the Unicode line and paragraph separators that would break it on a page.</summary>
    private static bool IsOneLine(string text) => !text.Any(c => char.IsControl(c) || c is '\u2028' or '\u2029');
}

/// <summary>The setting as the coordinator sees it; contact is written as null when there is none.</summary>
public sealed record PartnerContactView(bool Named, [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Contact)
{
    public static PartnerContactView Of(PartnerContact contact) => new(contact.Named, contact.Contact);
}
