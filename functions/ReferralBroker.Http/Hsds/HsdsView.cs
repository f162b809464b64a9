using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using ReferralBroker.Partners;
using ReferralBroker.Referrals;

namespace ReferralBroker.Hsds;

/// <summary>
/// The public directory as HSDS 3.0 publishes it, from one snapshot of the partners: each partner's service as
/// <see cref="HsdsMapping"/> maps it (fully nested), the organisations they name, and the broker's taxonomies and
/// terms. Kept as JSON objects with HSDS's own property names, so the API's pages and the Data Package's tables
/// are cut from the same objects by the specification's names (a table's columns are its object's properties).
/// </summary>
internal sealed class HsdsView
{
    private HsdsView(IReadOnlyList<(Partner Partner, JsonObject Service)> services, IReadOnlyList<JsonObject> taxonomies, IReadOnlyList<JsonObject> terms)
    {
        Services = services;
        Taxonomies = taxonomies;
        Terms = terms;
        Organizations = [.. services
            .Select(s => s.Service["organization"])
            .OfType<JsonObject>()
            .DistinctBy(o => Text(o, "id"))
            .Select(o => Scalars(o))];
    }

    /// <summary>Every partner, paused ones too (their service's status says "inactive"), in the directory's order.</summary>
    public IReadOnlyList<(Partner Partner, JsonObject Service)> Services { get; }

    /// <summary>The organisations the services name, one each (partners of one provider share it), one-to-one fields only.</summary>
    public IReadOnlyList<JsonObject> Organizations { get; }

    public IReadOnlyList<JsonObject> Taxonomies { get; }

    public IReadOnlyList<JsonObject> Terms { get; }

    public static HsdsView Of(IEnumerable<Partner> partners)
    {
        var services = partners.Select(p => (p, ServiceOf(p))).ToList();
        var (taxonomies, terms) = TaxonomiesOf(services.Select(s => s.Item2));
        return new HsdsView(services, taxonomies, terms);
    }

    /// <summary>A service by its HSDS id, or by the partner's slug (the id of the rest of the API).</summary>
    public JsonObject? FindService(string id) =>
        Services.FirstOrDefault(s => Text(s.Service, "id") == id).Service
        ?? Services.FirstOrDefault(s => s.Partner.Id == id).Service;

    /// <summary>
    /// The object with its lists left out (and those of its organization and program): what the HSDS API's list
    /// endpoints give for each item (schema/compiled/service_list.json, organization_list.json).
    /// </summary>
    public static JsonObject Scalars(JsonObject value)
    {
        var copy = new JsonObject();
        foreach (var (name, node) in value)
        {
            switch (node)
            {
                case JsonArray:
                    break;
                case JsonObject nested:
                    copy[name] = Scalars(nested);
                    break;
                default:
                    copy[name] = node?.DeepClone();
                    break;
            }
        }

        return copy;
    }

    public static string? Text(JsonObject value, string name) =>
        value[name] is JsonValue v && v.TryGetValue<string>(out var text) ? text : null;

    public static IEnumerable<JsonObject> Items(JsonObject value, string name) =>
        value[name] is JsonArray items ? items.OfType<JsonObject>() : [];

    /// <summary>The taxonomy term an attribute links to: its nested term's id, or its own taxonomy_term_id.</summary>
    public static string? TermId(JsonObject attribute) =>
        (attribute["taxonomy_term"] is JsonObject term ? Text(term, "id") : null) ?? Text(attribute, "taxonomy_term_id");

    private static JsonObject ServiceOf(Partner partner)
    {
        var service = JsonSerializer.SerializeToNode(HsdsMapping.ToHsds(partner), HsdsJsonContext.Default.HsdsService)!.AsObject();
        // Until the mapping publishes a public address of its own, "email" is the referral address: never published.
        service.Remove("email");
        return service;
    }

    /// <summary>
    /// The taxonomies and terms the services' attributes use, each once, in the order first met. A term's
    /// taxonomy_detail, when the mapping nests one, is the taxonomy; a term without one names it in "taxonomy".
    /// </summary>
    private static (IReadOnlyList<JsonObject> Taxonomies, IReadOnlyList<JsonObject> Terms) TaxonomiesOf(IEnumerable<JsonObject> services)
    {
        var terms = new List<JsonObject>();
        var taxonomies = new List<JsonObject>();
        foreach (var term in services.SelectMany(s => Items(s, "attributes")).Select(a => a["taxonomy_term"]).OfType<JsonObject>())
        {
            if (terms.All(t => !JsonNode.DeepEquals(t, term)))
            {
                terms.Add(term.DeepClone().AsObject());
            }

            if (term["taxonomy_detail"] is JsonObject taxonomy && taxonomies.All(t => Text(t, "id") != Text(taxonomy, "id")))
            {
                taxonomies.Add(Scalars(taxonomy));
            }
        }

        return (taxonomies, terms);
    }
}

/// <summary>HSDS's names: snake_case, and nothing written for what is absent.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(HsdsService))]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(HsdsPage<JsonObject>))]
[JsonSerializable(typeof(HsdsApiInfo))]
internal sealed partial class HsdsJsonContext : JsonSerializerContext;
