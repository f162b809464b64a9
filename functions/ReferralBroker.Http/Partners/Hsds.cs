using System.Text.Json.Serialization;
using ReferralBroker.Http;
using ReferralBroker.Lifecycle;
using ReferralBroker.Referrals;

namespace ReferralBroker.Partners;

/// <summary>
/// The directory in the shape of Open Referral HSDS 3.0: each partner is a service of an organization, with
/// languages, service areas, a schedule, accessibility and attributes whose taxonomy terms carry the broker's
/// categories and safety attributes. The same object is the admin API's partner record and one entry of an
/// import or export. Only what the broker uses is read; anything else is refused rather than silently lost.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record HsdsDirectory(
    [property: JsonPropertyName("hsds_version")] string? HsdsVersion,
    IReadOnlyList<HsdsService>? Services);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record HsdsService(
    string? Id,
    string? Name,
    string? Description,
    string? Email,
    // "active", or "inactive" while paused. Written on export, ignored on import: pausing is the coordinator's.
    string? Status,
    HsdsOrganization? Organization,
    IReadOnlyList<HsdsLanguage>? Languages,
    [property: JsonPropertyName("service_areas")] IReadOnlyList<HsdsServiceArea>? ServiceAreas,
    IReadOnlyList<HsdsSchedule>? Schedules,
    IReadOnlyList<HsdsAccessibility>? Accessibility,
    IReadOnlyList<HsdsAttribute>? Attributes);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record HsdsOrganization(string? Id, string? Name);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record HsdsLanguage(string? Code);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record HsdsServiceArea(string? Name);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record HsdsSchedule(string? Description);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record HsdsAccessibility(string? Description);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record HsdsAttribute([property: JsonPropertyName("taxonomy_term")] HsdsTaxonomyTerm? TaxonomyTerm);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record HsdsTaxonomyTerm(string? Taxonomy, string? Code);

/// <summary>Between <see cref="Partner"/> and its HSDS shape, with the rules a partner record must meet.</summary>
internal static class HsdsMapping
{
    public const string Version = "3.0";
    public const string CategoryTaxonomy = "referral-broker-category";
    public const string SafetyTaxonomy = "referral-broker-safety";
    private const int MaxText = 500;

    public static HsdsDirectory ToHsds(IEnumerable<Partner> partners) => new(Version, [.. partners.Select(ToHsds)]);

    public static HsdsService ToHsds(Partner p) => new(
        p.Id,
        p.Name,
        p.Description,
        p.Email,
        p.Paused ? "inactive" : "active",
        p.Provider is { } provider ? new HsdsOrganization(provider.Id, provider.Name) : null,
        [.. p.Languages.Select(l => new HsdsLanguage(l))],
        [.. p.ServiceAreas.Select(a => new HsdsServiceArea(a))],
        p.Hours is { } hours ? [new HsdsSchedule(hours)] : [],
        p.Accessibility is { } accessibility ? [new HsdsAccessibility(accessibility)] : [],
        [
            .. p.Categories.Select(c => new HsdsAttribute(new HsdsTaxonomyTerm(CategoryTaxonomy, WireNames.Of(c)))),
            .. p.Attributes.Select(a => new HsdsAttribute(new HsdsTaxonomyTerm(SafetyTaxonomy, a))),
        ]);

    /// <summary>
    /// The partner <paramref name="service"/> describes, or null with <paramref name="errors"/> keyed by JSON path
    /// under <paramref name="path"/>. <paramref name="id"/> is the id from the URL when there is one.
    /// </summary>
    public static Partner? ToPartner(HsdsService service, string? id, string path, Dictionary<string, string[]> errors)
    {
        var before = errors.Count;
        var partnerId = id ?? service.Id;
        if (!IsId(partnerId))
        {
            Add(errors, path, "id", "Required: 1 to 64 characters of a-z, 0-9 and '-'.");
        }
        else if (id is not null && service.Id is not null && service.Id != id)
        {
            Add(errors, path, "id", "Must match the id in the URL, or be left out.");
        }

        Text(service.Name, path, "name", required: true, errors);
        Text(service.Description, path, "description", required: false, errors);
        if (!EmailAddresses.IsAddrSpec(service.Email))
        {
            Add(errors, path, "email", "Required: the address referral links are sent to. " + EmailAddresses.Rule);
        }

        PartnerProvider? provider = null;
        if (service.Organization is { } organization)
        {
            if (!IsId(organization.Id))
            {
                Add(errors, path, "organization.id", "Required: 1 to 64 characters of a-z, 0-9 and '-'.");
            }

            Text(organization.Name, path, "organization.name", required: true, errors);
            provider = new PartnerProvider(organization.Id ?? "", organization.Name ?? "");
        }

        var languages = (service.Languages ?? []).Select(l => l?.Code).ToList();
        if (languages.Any(code => code is not { Length: >= 2 and <= 35 } || !code.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')))
        {
            Add(errors, path, "languages", "Each needs a language code such as en, th or pt-BR.");
        }

        var areas = (service.ServiceAreas ?? []).Select(a => a?.Name).ToList();
        for (var i = 0; i < areas.Count; i++)
        {
            Text(areas[i], path, $"service_areas[{i}].name", required: true, errors, listItem: true);
        }

        var hours = Single(service.Schedules?.Select(s => s?.Description).ToList(), path, "schedules", errors);
        var accessibility = Single(service.Accessibility?.Select(a => a?.Description).ToList(), path, "accessibility", errors);

        var categories = new List<ServiceCategory>();
        var attributes = new List<string>();
        foreach (var term in (service.Attributes ?? []).Select(a => a?.TaxonomyTerm))
        {
            if (term?.Taxonomy == CategoryTaxonomy && WireNames.TryParse(term.Code, out ServiceCategory category))
            {
                categories.Add(category);
            }
            else if (term?.Taxonomy == SafetyTaxonomy && term.Code is { } code && SafetyAttributes.All.Contains(code))
            {
                attributes.Add(code);
            }
            else
            {
                Add(errors, path, "attributes",
                    $"Each is a taxonomy_term of {CategoryTaxonomy} (a lower-case word such as health) or of {SafetyTaxonomy} " +
                    $"({string.Join(", ", SafetyAttributes.All)}).");
            }
        }

        if (categories.Count == 0)
        {
            Add(errors, path, "attributes", $"At least one {CategoryTaxonomy} term: the categories of service the partner provides.");
        }

        return errors.Count > before ? null : new Partner(partnerId!, service.Name!, service.Email!, [.. categories.Distinct()], [.. languages.Distinct()!])
        {
            Provider = provider,
            Description = service.Description,
            ServiceAreas = [.. areas!],
            Hours = hours,
            Accessibility = accessibility,
            Attributes = [.. attributes.Distinct()],
        };
    }

    public static bool IsId(string? id) =>
        id is { Length: >= 1 and <= 64 } && (char.IsAsciiLetterLower(id[0]) || char.IsAsciiDigit(id[0]))
        && id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    private static string? Single(List<string?>? values, string path, string name, Dictionary<string, string[]> errors)
    {
        if (values is null or { Count: 0 })
        {
            return null;
        }

        if (values.Count > 1)
        {
            Add(errors, path, name, "At most one, with a description.");
            return null;
        }

        Text(values[0], path, $"{name}[0].description", required: true, errors);
        return values[0];
    }

    /// <summary>
    /// Free text the coordinator types. Bounded, one line, and not starting like a spreadsheet formula: the CSV
    /// export is opened in spreadsheets, where "=..." would run. List items hold no ';', the CSV's list separator.
    /// </summary>
    private static void Text(string? value, string path, string name, bool required, Dictionary<string, string[]> errors, bool listItem = false)
    {
        if (value is null)
        {
            if (required)
            {
                Add(errors, path, name, "Required.");
            }

            return;
        }

        if (value.Trim().Length == 0 || value.Length > MaxText || value.Any(char.IsControl) || value[0] is '=' or '+' or '-' or '@'
            || (listItem && value.Contains(';', StringComparison.Ordinal)))
        {
            Add(errors, path, name, $"1 to {MaxText} characters on one line, not starting with = + - @{(listItem ? ", without ';'" : "")}.");
        }
    }

    private static void Add(Dictionary<string, string[]> errors, string path, string name, string message) =>
        errors[RequestBody.Join(path, name)] = [message];
}
