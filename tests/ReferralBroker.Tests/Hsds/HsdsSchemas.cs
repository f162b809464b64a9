using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace ReferralBroker.Tests.Hsds;

/// <summary>
/// Validates JSON against the official HSDS 3.0 schemas vendored in Hsds/Spec (see its README), the two ways the
/// specification's own CI validates its examples (validate_examples_json_schema.sh):
/// <list type="number">
/// <item>strict: the compiled schema (every $ref inlined, as compiletojsonschema does; schema/compiled/*.json where
/// the specification ships one) with additionalProperties:false set on every object schema, as
/// <c>compiletojsonschema --set-additional-properties-false-everywhere</c> does;</item>
/// <item>modular: schema/NAME.json as published, its $refs to the sibling files resolved.</item>
/// </list>
/// Formats (uuid, email, uri, ...) are asserted, as check-jsonschema does. The validator is JsonSchema.Net 8.0.5
/// (draft 2020-12, the default dialect for schemas without $schema, as the spec's files are).
/// Each method returns the errors, "instance path: message (which check)", empty when the JSON is valid.
/// </summary>
public static class HsdsSchemas
{
    private const string Base = "https://hsds.test/schema/";
    private static readonly ConcurrentDictionary<string, JsonSchema> Built = new();
    private static readonly Lazy<SchemaRegistry> Modular = new(BuildModularRegistry);

    public static string SpecDirectory { get; } = Path.Combine(Browser.Pages.RepositoryRoot, "tests", "ReferralBroker.Tests", "Hsds", "Spec");

    public static IReadOnlyList<string> ValidateService(JsonNode? service) => Validate(service, "service", "compiled/service");

    /// <summary>A service as the HSDS API lists it in /services Pages: one-to-one fields only (compiled/service_list).</summary>
    public static IReadOnlyList<string> ValidateServiceListItem(JsonNode? service) => Validate(service, null, "compiled/service_list");

    public static IReadOnlyList<string> ValidateOrganization(JsonNode? organization) => Validate(organization, "organization", "compiled/organization");

    public static IReadOnlyList<string> ValidateOrganizationListItem(JsonNode? organization) => Validate(organization, null, "compiled/organization_list");

    public static IReadOnlyList<string> ValidateTaxonomy(JsonNode? taxonomy) => Validate(taxonomy, "taxonomy", null);

    public static IReadOnlyList<string> ValidateTaxonomyTerm(JsonNode? term) => Validate(term, "taxonomy_term", null);

    /// <summary>
    /// Validates against <paramref name="itemSchema"/>: a modular name ("service", "taxonomy", ...) or a compiled
    /// one ("compiled/service", "compiled/service_list", ...).
    /// </summary>
    public static IReadOnlyList<string> Validate(JsonNode? instance, string itemSchema) =>
        itemSchema.StartsWith("compiled/", StringComparison.Ordinal)
            ? Validate(instance, null, itemSchema)
            : Validate(instance, itemSchema, null);

    /// <summary>
    /// An HSDS API Page (schema/openapi.json's components.schemas.Page, plus its contents array) whose every item
    /// is valid under <paramref name="itemSchema"/> as <see cref="Validate(JsonNode?, string)"/> checks it; the page's
    /// own properties are the Page's, all of them required here since the API's responses always carry them.
    /// </summary>
    public static IReadOnlyList<string> ValidatePage(JsonNode? page, string itemSchema)
    {
        var errors = new List<string>();
        var openApi = JsonNode.Parse(File.ReadAllText(Path.Combine(SpecDirectory, "schema", "openapi.json")))!;
        var pageSchema = openApi["components"]!["schemas"]!["Page"]!.DeepClone().AsObject();
        var properties = pageSchema["properties"]!.AsObject();
        pageSchema["required"] = new JsonArray([.. properties.Select(p => (JsonNode)p.Key), "contents"]);
        properties["contents"] = new JsonObject { ["type"] = "array" };
        pageSchema["additionalProperties"] = false;
        errors.AddRange(Evaluate(JsonSchema.FromText(pageSchema.ToJsonString(), Options(new SchemaRegistry())), page, "page"));
        if (page?["contents"] is JsonArray contents)
        {
            for (var i = 0; i < contents.Count; i++)
            {
                errors.AddRange(Validate(contents[i], itemSchema).Select(e => $"contents[{i}]{e}"));
            }
        }

        return errors;
    }

    private static List<string> Validate(JsonNode? instance, string? modular, string? compiled)
    {
        var errors = new List<string>();
        // Strict: the compiled file when the spec ships one, else the modular one compiled here the same way.
        var strict = Built.GetOrAdd("strict:" + (compiled ?? modular), _ =>
        {
            var node = compiled is not null ? JsonNode.Parse(Read(compiled))! : Inline(JsonNode.Parse(Read(modular!))!, []);
            SetAdditionalPropertiesFalseEverywhere(node);
            return JsonSchema.FromText(node.ToJsonString(), Options(new SchemaRegistry()));
        });
        errors.AddRange(Evaluate(strict, instance, $"{compiled ?? modular} with additionalProperties:false everywhere"));
        if (modular is not null)
        {
            var schema = Modular.Value.Get(new Uri(Base + modular + ".json")) as JsonSchema
                ?? throw new InvalidOperationException($"No modular schema {modular}.");
            errors.AddRange(Evaluate(schema, instance, $"{modular}.json with refs resolved"));
        }

        return errors;
    }

    private static List<string> Evaluate(JsonSchema schema, JsonNode? instance, string check)
    {
        using var document = JsonDocument.Parse(instance?.ToJsonString() ?? "null");
        var results = schema.Evaluate(document.RootElement, new EvaluationOptions
        {
            OutputFormat = OutputFormat.List,
            RequireFormatValidation = true,
        });
        if (results.IsValid)
        {
            return [];
        }

        var errors = (results.Details ?? []).Append(results)
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value} ({check})"))
            .Distinct()
            .ToList();
        return errors.Count > 0 ? errors : [$": invalid ({check})"];
    }

    // Draft 2020-12, whose unknown keywords (the spec's "name", "constraints", "example", ...) are annotations.
    private static BuildOptions Options(SchemaRegistry registry) => new() { SchemaRegistry = registry, Dialect = Dialect.Draft202012 };

    private static SchemaRegistry BuildModularRegistry()
    {
        var registry = new SchemaRegistry();
        var options = Options(registry);
        var pending = Directory.GetFiles(Path.Combine(SpecDirectory, "schema"), "*.json")
            .Where(f => Path.GetFileName(f) != "openapi.json")
            .ToDictionary(f => Path.GetFileNameWithoutExtension(f), File.ReadAllText);
        // Build each file once every file it refers to is built (the modular schemas form no cycle).
        while (pending.Count > 0)
        {
            var ready = pending.First(p => Refs(JsonNode.Parse(p.Value)!).All(r => !pending.ContainsKey(r) || r == p.Key));
            JsonSchema.FromText(ready.Value, options, new Uri(Base + ready.Key + ".json"));
            pending.Remove(ready.Key);
        }

        return registry;
    }

    private static IEnumerable<string> Refs(JsonNode node) => node switch
    {
        JsonObject o => o.SelectMany(p => p.Key == "$ref" && p.Value is JsonValue v && v.GetValue<string>().EndsWith(".json", StringComparison.Ordinal)
            ? [v.GetValue<string>()[..^5]]
            : p.Value is null ? [] : Refs(p.Value)),
        JsonArray a => a.SelectMany(i => i is null ? [] : Refs(i)),
        _ => [],
    };

    private static string Read(string name) => File.ReadAllText(Path.Combine(SpecDirectory, "schema", name + ".json"));

    /// <summary>The schema with every "$ref": "x.json" replaced by x.json's contents, as compiletojsonschema does.</summary>
    private static JsonNode Inline(JsonNode node, HashSet<string> seen)
    {
        switch (node)
        {
            case JsonObject o when o["$ref"] is JsonValue r && r.GetValue<string>() is var target && target.EndsWith(".json", StringComparison.Ordinal):
                var name = target[..^5];
                if (!seen.Add(name))
                {
                    throw new InvalidOperationException($"Cyclic $ref to {target}.");
                }

                var inlined = Inline(JsonNode.Parse(Read(name))!, seen);
                seen.Remove(name);
                foreach (var (key, value) in o.Where(p => p.Key != "$ref").ToList())
                {
                    inlined[key] ??= value?.DeepClone();
                }

                return inlined;
            case JsonObject o:
                var copy = new JsonObject();
                foreach (var (key, value) in o)
                {
                    copy[key] = value is null ? null : Inline(value, seen);
                }

                return copy;
            case JsonArray a:
                return new JsonArray([.. a.Select(i => i is null ? null : Inline(i, seen))]);
            default:
                return node.DeepClone();
        }
    }

    /// <summary>As lib-cove's compiletojsonschema: every object schema that lists properties allows no others.</summary>
    private static void SetAdditionalPropertiesFalseEverywhere(JsonNode node)
    {
        switch (node)
        {
            case JsonObject o:
                if (o["properties"] is JsonObject)
                {
                    o["additionalProperties"] = false;
                }

                foreach (var (_, value) in o.ToList())
                {
                    if (value is not null)
                    {
                        SetAdditionalPropertiesFalseEverywhere(value);
                    }
                }

                break;
            case JsonArray a:
                foreach (var item in a.OfType<JsonNode>())
                {
                    SetAdditionalPropertiesFalseEverywhere(item);
                }

                break;
        }
    }
}
