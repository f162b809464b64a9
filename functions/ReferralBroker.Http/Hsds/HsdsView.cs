using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using ReferralBroker.Partners;
using ReferralBroker.Referrals;

namespace ReferralBroker.Hsds;

/// <summary>
/// The public directory as HSDS 3.0 publishes it, from one snapshot of the partners: each partner's service as
/// <see cref="HsdsMapping"/> maps it (fully nested; its email is the public one, never the referral address), the
/// organizations they name, and the broker's taxonomies and terms (those of every category in use). Kept as JSON
/// objects with HSDS's own property names, so the API's pages and the Data Package's tables are cut from the same
/// objects by the specification's names (a table's columns are its object's properties).
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
            .DistinctBy(o => Text(o, "id"))];
    }

    /// <summary>Every partner, paused ones too (their service's status says "inactive"), in the directory's order.</summary>
    public IReadOnlyList<(Partner Partner, JsonObject Service)> Services { get; }

    /// <summary>The organizations the services name, one each (partners of one provider share it), as the services nest them.</summary>
    public IReadOnlyList<JsonObject> Organizations { get; }

    public IReadOnlyList<JsonObject> Taxonomies { get; }

    public IReadOnlyList<JsonObject> Terms { get; }

    public static HsdsView Of(IReadOnlyList<Partner> partners) => new(
        [.. partners.Select(p => (p, Node(HsdsMapping.ToHsds(p), HsdsJsonContext.Default.HsdsService)))],
        [.. HsdsMapping.Taxonomies.Select(t => Node(t, HsdsJsonContext.Default.HsdsTaxonomy))],
        [.. HsdsMapping.TermsFor(partners).Select(t => Node(t, HsdsJsonContext.Default.HsdsTaxonomyTerm))]);

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

    private static JsonObject Node<T>(T value, JsonTypeInfo<T> type) => JsonSerializer.SerializeToNode(value, type)!.AsObject();
}

/// <summary>HSDS's names: snake_case, and nothing written for what is absent.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(HsdsService))]
[JsonSerializable(typeof(HsdsTaxonomy))]
[JsonSerializable(typeof(HsdsTaxonomyTerm))]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(HsdsPage<JsonObject>))]
[JsonSerializable(typeof(HsdsApiInfo))]
internal sealed partial class HsdsJsonContext : JsonSerializerContext;
