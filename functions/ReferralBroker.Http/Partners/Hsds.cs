using System.Text.Json;
using System.Text.Json.Serialization;
using ReferralBroker.Http;
using ReferralBroker.Lifecycle;
using ReferralBroker.Referrals;

namespace ReferralBroker.Partners;

/// <summary>
/// The coordinator's backup of the directory: the HSDS 3.0 services and, beside them, the private referral
/// addresses (by service id), which no HSDS shape carries. Without <see cref="ReferralEmails"/> an import takes each
/// service's own <c>email</c> as its referral address.
/// </summary>
public sealed record HsdsDirectory(
    [property: JsonPropertyName("hsds_version")] string? HsdsVersion,
    IReadOnlyList<HsdsService>? Services)
{
    [JsonPropertyName("referral_emails")]
    public IReadOnlyDictionary<string, string>? ReferralEmails { get; init; }

    [JsonExtensionData]
    // Settable, not init: System.Text.Json cannot fill extension data through a constructor.
    public Dictionary<string, JsonElement>? Other { get; set; }
}

/// <summary>
/// An HSDS 3.0 service (schema/service.json) with what the broker reads and writes of it. Every other HSDS field
/// is accepted on the way in and dropped (<see cref="Other"/>, checked against <see cref="HsdsFields"/>); a field
/// HSDS does not define is refused.
/// </summary>
public sealed record HsdsService(
    string? Id,
    string? Name,
    string? Description,
    // The partner's public contact address, if it has one: never where referrals go.
    string? Email,
    // "active", or "inactive" while paused. Written on export, ignored on import: pausing is the coordinator's.
    string? Status,
    HsdsOrganization? Organization,
    IReadOnlyList<HsdsLanguage?>? Languages,
    [property: JsonPropertyName("service_areas")] IReadOnlyList<HsdsServiceArea?>? ServiceAreas,
    IReadOnlyList<HsdsSchedule?>? Schedules,
    [property: JsonPropertyName("service_at_locations")] IReadOnlyList<HsdsServiceAtLocation?>? ServiceAtLocations,
    IReadOnlyList<HsdsAttribute?>? Attributes)
{
    [JsonPropertyName("organization_id")]
    public string? OrganizationId { get; init; }

    [JsonExtensionData]
    // Settable, not init: System.Text.Json cannot fill extension data through a constructor.
    public Dictionary<string, JsonElement>? Other { get; set; }
}

public sealed record HsdsOrganization(string? Id, string? Name, string? Description, IReadOnlyList<HsdsAttribute?>? Attributes)
{
    [JsonExtensionData]
    // Settable, not init: System.Text.Json cannot fill extension data through a constructor.
    public Dictionary<string, JsonElement>? Other { get; set; }
}

public sealed record HsdsLanguage(string? Id, string? Code)
{
    [JsonPropertyName("service_id")]
    public string? ServiceId { get; init; }

    [JsonExtensionData]
    // Settable, not init: System.Text.Json cannot fill extension data through a constructor.
    public Dictionary<string, JsonElement>? Other { get; set; }
}

public sealed record HsdsServiceArea(string? Id, string? Name)
{
    [JsonPropertyName("service_id")]
    public string? ServiceId { get; init; }

    [JsonExtensionData]
    // Settable, not init: System.Text.Json cannot fill extension data through a constructor.
    public Dictionary<string, JsonElement>? Other { get; set; }
}

public sealed record HsdsSchedule(string? Id, string? Description)
{
    [JsonPropertyName("service_id")]
    public string? ServiceId { get; init; }

    [JsonExtensionData]
    // Settable, not init: System.Text.Json cannot fill extension data through a constructor.
    public Dictionary<string, JsonElement>? Other { get; set; }
}

/// <summary>Where HSDS 3.0 keeps accessibility: on a location the service is delivered at.</summary>
public sealed record HsdsServiceAtLocation(string? Id, HsdsLocation? Location)
{
    [JsonPropertyName("service_id")]
    public string? ServiceId { get; init; }

    [JsonPropertyName("location_id")]
    public string? LocationId { get; init; }

    [JsonExtensionData]
    // Settable, not init: System.Text.Json cannot fill extension data through a constructor.
    public Dictionary<string, JsonElement>? Other { get; set; }
}

public sealed record HsdsLocation(
    string? Id,
    [property: JsonPropertyName("location_type")] string? LocationType,
    IReadOnlyList<HsdsAccessibility?>? Accessibility)
{
    [JsonExtensionData]
    // Settable, not init: System.Text.Json cannot fill extension data through a constructor.
    public Dictionary<string, JsonElement>? Other { get; set; }
}

public sealed record HsdsAccessibility(string? Id, string? Description)
{
    [JsonPropertyName("location_id")]
    public string? LocationId { get; init; }

    [JsonExtensionData]
    // Settable, not init: System.Text.Json cannot fill extension data through a constructor.
    public Dictionary<string, JsonElement>? Other { get; set; }
}

public sealed record HsdsAttribute(
    string? Id,
    [property: JsonPropertyName("taxonomy_term_id")] string? TaxonomyTermId,
    string? Value,
    [property: JsonPropertyName("taxonomy_term")] HsdsTaxonomyTerm? TaxonomyTerm)
{
    [JsonPropertyName("link_id")]
    public string? LinkId { get; init; }

    [JsonPropertyName("link_entity")]
    public string? LinkEntity { get; init; }

    [JsonExtensionData]
    // Settable, not init: System.Text.Json cannot fill extension data through a constructor.
    public Dictionary<string, JsonElement>? Other { get; set; }
}

/// <summary>An HSDS 3.0 taxonomy_term (schema/taxonomy_term.json).</summary>
public sealed record HsdsTaxonomyTerm(
    string? Id,
    string? Code,
    string? Name,
    string? Description,
    string? Taxonomy,
    [property: JsonPropertyName("taxonomy_id")] string? TaxonomyId)
{
    [JsonExtensionData]
    // Settable, not init: System.Text.Json cannot fill extension data through a constructor.
    public Dictionary<string, JsonElement>? Other { get; set; }
}

/// <summary>An HSDS 3.0 taxonomy (schema/taxonomy.json).</summary>
public sealed record HsdsTaxonomy(string Id, string Name, string Description, string? Version);

/// <summary>The properties HSDS 3.0 defines on each object the broker reads (schema/*.json; a test keeps them equal).</summary>
public static class HsdsFields
{
    public static readonly IReadOnlyDictionary<string, IReadOnlySet<string>> ByObject = new Dictionary<string, IReadOnlySet<string>>
    {
        ["service"] = Set("id", "organization_id", "program_id", "name", "alternate_name", "description", "url", "email", "status",
            "interpretation_services", "application_process", "fees_description", "wait_time", "fees", "accreditations",
            "eligibility_description", "minimum_age", "maximum_age", "assured_date", "assurer_email", "licenses", "alert", "last_modified",
            "phones", "schedules", "service_areas", "service_at_locations", "languages", "organization", "funding", "cost_options",
            "program", "required_documents", "contacts", "attributes", "metadata"),
        ["organization"] = Set("id", "name", "alternate_name", "description", "email", "website", "tax_status", "tax_id",
            "year_incorporated", "legal_status", "logo", "uri", "parent_organization_id", "funding", "contacts", "phones", "locations",
            "programs", "organization_identifiers", "attributes", "metadata"),
        ["language"] = Set("id", "service_id", "location_id", "phone_id", "name", "code", "note", "attributes", "metadata"),
        ["service_area"] = Set("id", "service_id", "name", "description", "extent", "extent_type", "uri", "attributes", "metadata"),
        ["schedule"] = Set("id", "service_id", "location_id", "service_at_location_id", "valid_from", "valid_to", "dtstart", "timezone",
            "until", "count", "wkst", "freq", "interval", "byday", "byweekno", "bymonthday", "byyearday", "description", "opens_at",
            "closes_at", "schedule_link", "attending_type", "notes", "attributes", "metadata"),
        ["service_at_location"] = Set("id", "service_id", "location_id", "description", "contacts", "phones", "schedules", "location",
            "attributes", "metadata"),
        ["location"] = Set("id", "location_type", "url", "organization_id", "name", "alternate_name", "description", "transportation",
            "latitude", "longitude", "external_identifier", "external_identifier_type", "languages", "addresses", "contacts",
            "accessibility", "phones", "schedules", "attributes", "metadata"),
        ["accessibility"] = Set("id", "location_id", "description", "details", "url", "attributes", "metadata"),
        ["attribute"] = Set("id", "link_id", "taxonomy_term_id", "link_type", "link_entity", "value", "taxonomy_term", "metadata"),
        ["taxonomy_term"] = Set("id", "code", "name", "description", "parent_id", "taxonomy", "taxonomy_detail", "language", "taxonomy_id",
            "term_uri", "metadata"),
    };

    private static HashSet<string> Set(params string[] names) => new(names, StringComparer.Ordinal);
}

/// <summary>Between <see cref="Partner"/> and its HSDS 3.0 shape, with the rules a partner record must meet.</summary>
public static class HsdsMapping
{
    public const string Version = "3.0";
    public const string CategoryTaxonomy = "referral-broker-category";
    public const string SafetyTaxonomy = "referral-broker-safety";
    /// <summary>One term, <see cref="SlugCode"/>: the attribute whose value is the record's id in the broker's own API.</summary>
    public const string IdTaxonomy = "referral-broker-id";
    public const string SlugCode = "slug";
    private const int MaxText = 500;
    private const int MaxDescription = 2000;

    public static readonly Guid CategoryTaxonomyId = new("56d6e5fc-0c2a-4a7c-aa6a-ba71569bc505");
    public static readonly Guid SafetyTaxonomyId = new("f232b51b-8d2c-4ef4-95b1-9568b1c29da5");
    public static readonly Guid IdTaxonomyId = new("fef16bf9-2168-4726-a2f6-8ea49ca372b7");

    private static readonly string[] Statuses = ["active", "inactive", "defunct", "temporarily closed"];

    private static readonly Dictionary<string, string> SafetyDescriptions = new(StringComparer.Ordinal)
    {
        [SafetyAttributes.NoIdRequired] = "Clients need show no identity document.",
        [SafetyAttributes.NoSharingWithPoliceOrImmigration] = "Shares nothing with police or immigration authorities unless compelled by law.",
        [SafetyAttributes.SexWorkerLed] = "Run by sex workers.",
        [SafetyAttributes.SexWorkerFriendly] = "Welcomes sex workers without judgement.",
        [SafetyAttributes.ConfidentialAddress] = "Its address is not given out: clients reach it through its front desk only.",
        [SafetyAttributes.AcceptingReferrals] = "Takes new referrals now.",
    };

    /// <summary>The broker's taxonomies, the same everywhere (fixed UUIDs).</summary>
    public static IReadOnlyList<HsdsTaxonomy> Taxonomies { get; } =
    [
        new(CategoryTaxonomyId.ToString(), CategoryTaxonomy,
            "ReferralBroker's categories of service: what a partner provides. A referral names one; its code is the category's id in the broker's API.", "1"),
        new(SafetyTaxonomyId.ToString(), SafetyTaxonomy,
            "ReferralBroker's safety attributes: what a caseworker needs to know to trust a partner with a client who fears exposure.", "1"),
        new(IdTaxonomyId.ToString(), IdTaxonomy,
            "ReferralBroker's own ids: an attribute with the one term 'slug' holds, as its value, the id the broker's API and referrals use for the record.", "1"),
    ];

    /// <summary>Every term of the broker's taxonomies: the built-in categories, the safety attributes and the slug.</summary>
    public static IReadOnlyList<HsdsTaxonomyTerm> Terms { get; } =
    [
        .. ServiceCategory.BuiltIn.Select(CategoryTerm),
        .. SafetyAttributes.All.Select(SafetyTerm),
        SlugTerm(),
    ];

    /// <summary><see cref="Terms"/> and the terms of the categories <paramref name="partners"/> use beyond the built-in ones.</summary>
    public static IReadOnlyList<HsdsTaxonomyTerm> TermsFor(IEnumerable<Partner> partners) =>
    [
        .. Terms,
        .. partners.SelectMany(p => p.Categories).Distinct().Where(c => !ServiceCategory.BuiltIn.Contains(c))
            .OrderBy(c => c.Name, StringComparer.Ordinal).Select(CategoryTerm),
    ];

    public static HsdsTaxonomyTerm CategoryTerm(ServiceCategory category) => new(
        TermId(CategoryTaxonomyId, WireNames.Of(category)).ToString(), WireNames.Of(category), WireNames.Of(category),
        $"Services of the category '{WireNames.Of(category)}'.", CategoryTaxonomy, CategoryTaxonomyId.ToString());

    public static HsdsTaxonomyTerm SafetyTerm(string attribute) => new(
        TermId(SafetyTaxonomyId, attribute).ToString(), attribute, attribute,
        SafetyDescriptions.GetValueOrDefault(attribute) ?? attribute, SafetyTaxonomy, SafetyTaxonomyId.ToString());

    public static HsdsTaxonomyTerm SlugTerm() => new(
        TermId(IdTaxonomyId, SlugCode).ToString(), SlugCode, "ReferralBroker id",
        "The record's id in ReferralBroker's API (a partner's is what referrals name); the attribute's value holds it.",
        IdTaxonomy, IdTaxonomyId.ToString());

    public static HsdsDirectory ToHsds(IEnumerable<Partner> partners) => new(Version, [.. partners.Select(ToHsds)]);

    /// <summary>The coordinator's backup: <see cref="ToHsds(IEnumerable{Partner})"/> and the referral addresses by service id.</summary>
    public static HsdsDirectory ToBackup(IEnumerable<Partner> partners)
    {
        var list = partners.ToList();
        return ToHsds(list) with { ReferralEmails = list.ToDictionary(p => Id(p, PartnerIds.Service).ToString(), p => p.Email, StringComparer.Ordinal) };
    }

    /// <summary>
    /// The partner as an HSDS 3.0 service, valid under the specification's schemas. Its referral address is not in it:
    /// <c>email</c> is the public one, if any. A partner without a provider is its own organization.
    /// </summary>
    public static HsdsService ToHsds(Partner p)
    {
        var serviceId = Id(p, PartnerIds.Service).ToString();
        var organizationId = Id(p, PartnerIds.Organization).ToString();
        var provider = p.Provider ?? new PartnerProvider(p.Id, p.Name) { Description = p.Description };
        var locationId = Id(p, PartnerIds.Location).ToString();
        return new HsdsService(
            serviceId,
            p.Name,
            p.Description,
            p.PublicEmail,
            p.Paused ? "inactive" : "active",
            new HsdsOrganization(organizationId, provider.Name, provider.Description ?? provider.Name,
                [SlugAttribute(PartnerIds.Derived(Guid.Parse(organizationId), PartnerIds.SlugAttribute), provider.Id, organizationId, "organization")]),
            [.. p.Languages.Select(code => new HsdsLanguage(Id(p, PartnerIds.Language(code)).ToString(), code) { ServiceId = serviceId })],
            [.. p.ServiceAreas.Select(area => new HsdsServiceArea(Id(p, PartnerIds.ServiceArea(area)).ToString(), area) { ServiceId = serviceId })],
            p.Hours is { } hours ? [new HsdsSchedule(Id(p, PartnerIds.Schedule).ToString(), hours) { ServiceId = serviceId }] : [],
            p.Accessibility is { } accessibility
                ?
                [
                    new HsdsServiceAtLocation(Id(p, PartnerIds.ServiceAtLocation).ToString(),
                        new HsdsLocation(locationId, "physical",
                            [new HsdsAccessibility(Id(p, PartnerIds.Accessibility).ToString(), accessibility) { LocationId = locationId }]))
                    {
                        ServiceId = serviceId,
                        LocationId = locationId,
                    },
                ]
                : [],
            [
                SlugAttribute(Id(p, PartnerIds.SlugAttribute), p.Id, serviceId, "service"),
                .. p.Categories.Select(c => Attribute(Id(p, PartnerIds.Category(c)), CategoryTerm(c), serviceId)),
                .. p.Attributes.Select(a => Attribute(Id(p, PartnerIds.Safety(a)), SafetyTerm(a), serviceId)),
            ])
        {
            OrganizationId = organizationId,
        };
    }

    /// <summary>
    /// The partner <paramref name="service"/> describes, or null with <paramref name="errors"/> keyed by JSON path
    /// under <paramref name="path"/>. <paramref name="slug"/> is the id from the URL when there is one;
    /// <paramref name="referralEmail"/> is where its referral links go (when null: the address the partner already has
    /// in <paramref name="existing"/>, else the service's own email);
    /// <paramref name="existing"/> is the directory, whose partners an HSDS record without a slug is matched to by service id;
    /// <paramref name="referralPath"/> names <paramref name="referralEmail"/> in errors.
    /// The HSDS ids given are kept; items without one get theirs when saved (<see cref="PartnerIds.Assign"/>).
    /// </summary>
    public static Partner? ToPartner(
        HsdsService service, string? slug, string? referralEmail, string path, Dictionary<string, string[]> errors,
        IReadOnlyList<Partner>? existing = null, string referralPath = "referralEmail")
    {
        var before = errors.Count;
        var ids = new Dictionary<string, Guid>(StringComparer.Ordinal);
        Unknown(service.Other, "service", path, errors);

        var serviceId = Uuid(service.Id, path, "id", errors);
        if (serviceId is { } sid)
        {
            ids[PartnerIds.Service] = sid;
        }

        // The slug: the URL's, else the record's slug attribute, else the partner already holding this service id,
        // else the service id itself (a lower-case UUID is a valid slug).
        var attributes = service.Attributes ?? [];
        var slugAttribute = FindSlug(attributes, path, "attributes", errors, out var slugAttributeIndex);
        if (slug is not null && slugAttribute is not null && slugAttribute != slug)
        {
            Add(errors, path, $"attributes[{slugAttributeIndex}].value", "Must match the id in the URL, or be left out.");
        }

        var partnerId = slug ?? slugAttribute
            ?? existing?.FirstOrDefault(p => serviceId is { } id && p.HsdsIds.GetValueOrDefault(PartnerIds.Service) == id)?.Id
            ?? service.Id?.ToLowerInvariant();
        if (!IsId(partnerId))
        {
            Add(errors, path, slugAttribute is not null ? $"attributes[{slugAttributeIndex}].value" : "id",
                $"Required: the partner's id, 1 to 64 characters of a-z, 0-9 and '-' (in the URL, or as the value of the {IdTaxonomy} '{SlugCode}' attribute), or a UUID.");
        }

        Text(service.Name, path, "name", required: true, errors);
        Text(service.Description, path, "description", required: false, errors, max: MaxDescription);
        if (service.Email is not null && !EmailAddresses.IsAddrSpec(service.Email))
        {
            Add(errors, path, "email", "The partner's public contact address, if any. " + EmailAddresses.Rule);
        }

        // A partner already in the directory keeps its referral address unless one is given: an HSDS record read back
        // from the public view carries only the public email, which must never quietly become where links go.
        var referral = referralEmail ?? existing?.FirstOrDefault(p => p.Id == partnerId)?.Email ?? service.Email;
        if (!EmailAddresses.IsAddrSpec(referral))
        {
            errors[referralEmail is null ? RequestBody.Join(path, "email") : referralPath] =
                ["Required: the address referral links are sent to (the referral address given beside the record, else the service's email). " + EmailAddresses.Rule];
        }

        if (service.Status is not null && !Statuses.Contains(service.Status))
        {
            Add(errors, path, "status", $"One of {string.Join(", ", Statuses)} (HSDS 3.0); pausing is the coordinator's, so it is not read.");
        }

        Uuid(service.OrganizationId, path, "organization_id", errors);
        var provider = ReadOrganization(service, partnerId, path, ids, errors, existing);
        var languages = ReadLanguages(service.Languages, path, ids, errors);
        var areas = ReadAreas(service.ServiceAreas, path, ids, errors);
        var hours = ReadSchedule(service.Schedules, path, ids, errors);
        var accessibility = ReadAccessibility(service.ServiceAtLocations, path, ids, errors);

        var categories = new List<ServiceCategory>();
        var safety = new List<string>();
        for (var i = 0; i < attributes.Count; i++)
        {
            var at = $"attributes[{i}]";
            if (attributes[i] is not { } attribute)
            {
                Add(errors, path, at, "Must be an object.");
                continue;
            }

            Unknown(attribute.Other, "attribute", RequestBody.Join(path, at), errors);
            Unknown(attribute.TaxonomyTerm?.Other, "taxonomy_term", RequestBody.Join(path, at + ".taxonomy_term"), errors);
            var attributeId = Uuid(attribute.Id, path, at + ".id", errors);
            Uuid(attribute.TaxonomyTermId, path, at + ".taxonomy_term_id", errors);
            var (taxonomy, code) = Term(attribute);
            if (taxonomy == CategoryTaxonomy)
            {
                // Every term's code is unique in the Data Package's taxonomy_terms.csv, whatever its taxonomy.
                if (code is not null && (SafetyAttributes.All.Contains(code) || code == SlugCode))
                {
                    Add(errors, path, at + ".taxonomy_term.code", $"'{code}' is a term of another of our taxonomies; a category needs a code of its own.");
                }
                else if (WireNames.TryParse(code, out ServiceCategory category))
                {
                    categories.Add(category);
                    Keep(ids, PartnerIds.Category(category), attributeId);
                }
                else
                {
                    Add(errors, path, at + ".taxonomy_term.code", $"A {CategoryTaxonomy} code is a category: 2 to 32 characters of a-z, 0-9 and '-', such as health.");
                }
            }
            else if (taxonomy == SafetyTaxonomy)
            {
                if (code is not null && SafetyAttributes.All.Contains(code))
                {
                    safety.Add(code);
                    Keep(ids, PartnerIds.Safety(code), attributeId);
                }
                else
                {
                    Add(errors, path, at + ".taxonomy_term.code", $"A {SafetyTaxonomy} code is one of {string.Join(", ", SafetyAttributes.All)}.");
                }
            }
            else if (taxonomy == IdTaxonomy && code == SlugCode)
            {
                Keep(ids, PartnerIds.SlugAttribute, attributeId);
            }

            // Attributes of other taxonomies are HSDS the broker does not use: accepted and dropped.
        }

        if (categories.Count == 0)
        {
            Add(errors, path, "attributes", $"At least one {CategoryTaxonomy} term: the categories of service the partner provides.");
        }

        return errors.Count > before ? null : new Partner(partnerId!, service.Name!, referral!, [.. categories.Distinct()], [.. languages.Distinct()])
        {
            Provider = provider,
            Description = service.Description,
            PublicEmail = service.Email,
            ServiceAreas = [.. areas.Distinct()],
            Hours = hours,
            Accessibility = accessibility,
            Attributes = [.. safety.Distinct()],
            HsdsIds = ids,
        };
    }

    public static bool IsId(string? id) =>
        id is { Length: >= 1 and <= 64 } && (char.IsAsciiLetterLower(id[0]) || char.IsAsciiDigit(id[0]))
        && id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    /// <summary>A name-based UUID under <paramref name="taxonomy"/>: the same term, the same id, everywhere.</summary>
    public static Guid TermId(Guid taxonomy, string code) => PartnerIds.Derived(taxonomy, code);

    /// <summary>
    /// The stored UUID of the item; for a record without one (a partner built in code and never stored), the one
    /// derived from its slug that seeding would store.
    /// </summary>
    private static Guid Id(Partner p, string key) =>
        p.HsdsIds.TryGetValue(key, out var id) ? id : PartnerIds.Derived(p, key);

    private static HsdsAttribute SlugAttribute(Guid id, string slug, string linkId, string linkEntity)
    {
        var term = SlugTerm();
        return new HsdsAttribute(id.ToString(), term.Id, slug, term) { LinkId = linkId, LinkEntity = linkEntity };
    }

    private static HsdsAttribute Attribute(Guid id, HsdsTaxonomyTerm term, string serviceId) =>
        new(id.ToString(), term.Id, null, term) { LinkId = serviceId, LinkEntity = "service" };

    /// <summary>The taxonomy and code of an attribute's term: from its taxonomy_term, else from a term id of ours.</summary>
    private static (string? Taxonomy, string? Code) Term(HsdsAttribute attribute)
    {
        var known = Terms.FirstOrDefault(t => t.Id == (attribute.TaxonomyTerm?.Id ?? attribute.TaxonomyTermId));
        if (attribute.TaxonomyTerm is not { } term)
        {
            return (known?.Taxonomy, known?.Code);
        }

        var taxonomy = term.Taxonomy ?? Taxonomies.FirstOrDefault(t => t.Id == term.TaxonomyId)?.Name ?? known?.Taxonomy;
        return (taxonomy, term.Code ?? known?.Code);
    }

    private static string? FindSlug(IReadOnlyList<HsdsAttribute?> attributes, string path, string name, Dictionary<string, string[]> errors, out int index)
    {
        index = -1;
        for (var i = 0; i < attributes.Count; i++)
        {
            if (attributes[i] is { } attribute && Term(attribute) == (IdTaxonomy, SlugCode))
            {
                index = i;
                if (!IsId(attribute.Value))
                {
                    Add(errors, path, $"{name}[{i}].value", "An id: 1 to 64 characters of a-z, 0-9 and '-'.");
                    return null;
                }

                return attribute.Value;
            }
        }

        return null;
    }

    private static PartnerProvider? ReadOrganization(
        HsdsService service, string? partnerId, string path, Dictionary<string, Guid> ids, Dictionary<string, string[]> errors,
        IReadOnlyList<Partner>? existing)
    {
        if (service.Organization is not { } organization)
        {
            if (service.OrganizationId is { } given && Guid.TryParse(given, out var orgId) && existing?.FirstOrDefault(p =>
                p.HsdsIds.GetValueOrDefault(PartnerIds.Organization) == orgId) is { Provider: { } known })
            {
                ids[PartnerIds.Organization] = orgId;
                return known;
            }

            return null;
        }

        Unknown(organization.Other, "organization", RequestBody.Join(path, "organization"), errors);
        var organizationId = Uuid(organization.Id, path, "organization.id", errors);
        Keep(ids, PartnerIds.Organization, organizationId);
        if (service.OrganizationId is not null && organization.Id is not null && service.OrganizationId != organization.Id)
        {
            Add(errors, path, "organization_id", "Must be the organization's id, or be left out.");
        }

        Text(organization.Name, path, "organization.name", required: true, errors);
        Text(organization.Description, path, "organization.description", required: false, errors, max: MaxDescription);
        var attributes = organization.Attributes ?? [];
        for (var i = 0; i < attributes.Count; i++)
        {
            Unknown(attributes[i]?.Other, "attribute", RequestBody.Join(path, $"organization.attributes[{i}]"), errors);
        }

        // The provider's slug: its slug attribute, else that of the provider already holding this organization id,
        // else the organization id itself.
        var slug = FindSlug(attributes, path, "organization.attributes", errors, out _)
            ?? existing?.FirstOrDefault(p => organizationId is { } id && p.HsdsIds.GetValueOrDefault(PartnerIds.Organization) == id)?.Provider?.Id
            ?? organization.Id?.ToLowerInvariant()
            ?? partnerId;
        if (!IsId(slug))
        {
            Add(errors, path, "organization.id", "Required: a UUID, or a slug attribute naming the provider.");
            return null;
        }

        return new PartnerProvider(slug!, organization.Name ?? "")
        {
            Description = organization.Description == organization.Name ? null : organization.Description,
        };
    }

    private static List<string> ReadLanguages(IReadOnlyList<HsdsLanguage?>? languages, string path, Dictionary<string, Guid> ids, Dictionary<string, string[]> errors)
    {
        var codes = new List<string>();
        for (var i = 0; i < (languages?.Count ?? 0); i++)
        {
            var at = $"languages[{i}]";
            if (languages![i] is not { } language)
            {
                Add(errors, path, at, "Must be an object.");
                continue;
            }

            Unknown(language.Other, "language", RequestBody.Join(path, at), errors);
            var id = Uuid(language.Id, path, at + ".id", errors);
            if (language.Code is null)
            {
                continue; // HSDS allows a language by name only; the broker matches on codes, so it is dropped.
            }

            if (language.Code is not { Length: >= 2 and <= 35 } code || !code.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                Add(errors, path, at + ".code", "A language code such as en, th or pt-BR.");
                continue;
            }

            codes.Add(code);
            Keep(ids, PartnerIds.Language(code), id);
        }

        return codes;
    }

    private static List<string> ReadAreas(IReadOnlyList<HsdsServiceArea?>? areas, string path, Dictionary<string, Guid> ids, Dictionary<string, string[]> errors)
    {
        var names = new List<string>();
        for (var i = 0; i < (areas?.Count ?? 0); i++)
        {
            var at = $"service_areas[{i}]";
            if (areas![i] is not { } area)
            {
                Add(errors, path, at, "Must be an object.");
                continue;
            }

            Unknown(area.Other, "service_area", RequestBody.Join(path, at), errors);
            var id = Uuid(area.Id, path, at + ".id", errors);
            if (area.Name is null)
            {
                continue; // an area given by extent or description only: the broker lists areas by name.
            }

            if (Text(area.Name, path, at + ".name", required: true, errors, listItem: true))
            {
                names.Add(area.Name);
                Keep(ids, PartnerIds.ServiceArea(area.Name), id);
            }
        }

        return names;
    }

    /// <summary>The opening hours: the first schedule with a description (HSDS allows many; the broker keeps one text).</summary>
    private static string? ReadSchedule(IReadOnlyList<HsdsSchedule?>? schedules, string path, Dictionary<string, Guid> ids, Dictionary<string, string[]> errors)
    {
        string? hours = null;
        for (var i = 0; i < (schedules?.Count ?? 0); i++)
        {
            var at = $"schedules[{i}]";
            if (schedules![i] is not { } schedule)
            {
                Add(errors, path, at, "Must be an object.");
                continue;
            }

            Unknown(schedule.Other, "schedule", RequestBody.Join(path, at), errors);
            var id = Uuid(schedule.Id, path, at + ".id", errors);
            if (hours is null && schedule.Description is not null && Text(schedule.Description, path, at + ".description", required: true, errors))
            {
                hours = schedule.Description;
                Keep(ids, PartnerIds.Schedule, id);
            }
        }

        return hours;
    }

    /// <summary>The first accessibility description of the first location that has one.</summary>
    private static string? ReadAccessibility(
        IReadOnlyList<HsdsServiceAtLocation?>? serviceAtLocations, string path, Dictionary<string, Guid> ids, Dictionary<string, string[]> errors)
    {
        string? found = null;
        for (var i = 0; i < (serviceAtLocations?.Count ?? 0); i++)
        {
            var at = $"service_at_locations[{i}]";
            if (serviceAtLocations![i] is not { } sal)
            {
                Add(errors, path, at, "Must be an object.");
                continue;
            }

            Unknown(sal.Other, "service_at_location", RequestBody.Join(path, at), errors);
            var salId = Uuid(sal.Id, path, at + ".id", errors);
            if (sal.Location is not { } location)
            {
                continue;
            }

            Unknown(location.Other, "location", RequestBody.Join(path, at + ".location"), errors);
            var locationId = Uuid(location.Id, path, at + ".location.id", errors);
            if (location.LocationType is not null and not ("physical" or "postal" or "virtual"))
            {
                Add(errors, path, at + ".location.location_type", "One of physical, postal, virtual (HSDS 3.0).");
            }

            var accessibility = location.Accessibility ?? [];
            for (var j = 0; j < accessibility.Count; j++)
            {
                var inner = $"{at}.location.accessibility[{j}]";
                if (accessibility[j] is not { } item)
                {
                    Add(errors, path, inner, "Must be an object.");
                    continue;
                }

                Unknown(item.Other, "accessibility", RequestBody.Join(path, inner), errors);
                var id = Uuid(item.Id, path, inner + ".id", errors);
                if (found is null && item.Description is not null && Text(item.Description, path, inner + ".description", required: true, errors))
                {
                    found = item.Description;
                    Keep(ids, PartnerIds.ServiceAtLocation, salId);
                    Keep(ids, PartnerIds.Location, locationId);
                    Keep(ids, PartnerIds.Accessibility, id);
                }
            }
        }

        return found;
    }

    private static void Keep(Dictionary<string, Guid> ids, string key, Guid? id)
    {
        if (id is { } value)
        {
            ids[key] = value;
        }
    }

    /// <summary>An HSDS id: absent (the broker mints one), or a UUID.</summary>
    private static Guid? Uuid(string? value, string path, string name, Dictionary<string, string[]> errors)
    {
        if (value is null)
        {
            return null;
        }

        if (value.Length == 36 && Guid.TryParseExact(value, "D", out var id))
        {
            return id;
        }

        Add(errors, path, name, "A UUID (HSDS 3.0 ids are UUIDs), or left out for the broker to mint one.");
        return null;
    }

    /// <summary>A property HSDS 3.0 does not define on this object is refused; one it defines that the broker does not use is dropped.</summary>
    private static void Unknown(Dictionary<string, JsonElement>? other, string hsdsObject, string path, Dictionary<string, string[]> errors)
    {
        foreach (var name in other is null ? [] : other.Keys.ToList())
        {
            if (!HsdsFields.ByObject[hsdsObject].Contains(name))
            {
                errors[RequestBody.Join(path, name)] = [$"Not a property of an HSDS 3.0 {hsdsObject}."];
            }
        }
    }

    /// <summary>
    /// Free text the coordinator types. Bounded, one line, and not starting like a spreadsheet formula: the CSV
    /// export is opened in spreadsheets, where "=..." would run. List items hold no ';', the CSV's list separator.
    /// </summary>
    private static bool Text(string? value, string path, string name, bool required, Dictionary<string, string[]> errors, bool listItem = false, int max = MaxText)
    {
        if (value is null)
        {
            if (required)
            {
                Add(errors, path, name, "Required.");
            }

            return !required;
        }

        if (value.Trim().Length == 0 || value.Length > max || value.Any(char.IsControl) || value[0] is '=' or '+' or '-' or '@'
            || (listItem && value.Contains(';', StringComparison.Ordinal)))
        {
            Add(errors, path, name, $"1 to {max} characters on one line, not starting with = + - @{(listItem ? ", without ';'" : "")}.");
            return false;
        }

        return true;
    }

    private static void Add(Dictionary<string, string[]> errors, string path, string name, string message) =>
        errors[RequestBody.Join(path, name)] = [message];
}
