using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ReferralBroker.Http;

namespace ReferralBroker.Hsds;

/// <summary>
/// The directory as an HSDS Tabular Data Package (docs/hsds/serialization.md): the specification's own
/// datapackage.json (built in from HSDS 3.0 unchanged) narrowed to the tables the broker fills, and one CSV per
/// table whose header is that table's fields in the descriptor's order. Each row is the HSDS object the API
/// publishes, cell by cell by the field's name, with the ids that link it to its parent (service_id, location_id,
/// link_id and link_entity) filled in where the object does not carry them: the same data as the JSON, in the
/// specification's tabular shape.
/// </summary>
internal static class HsdsDataPackage
{
    private const string Resource = "ReferralBroker.Hsds.datapackage.json";

    /// <summary>The tables filled, by the descriptor's resource names; every other HSDS table is left out.</summary>
    public static readonly IReadOnlyList<string> Tables =
        ["organization", "service", "attribute", "service_at_location", "location", "schedule", "service_area", "language", "accessibility",
            "taxonomy_term", "taxonomy"];

    private static readonly Lazy<JsonObject> Specification = new(() =>
    {
        using var stream = typeof(HsdsDataPackage).Assembly.GetManifestResourceStream(Resource)
            ?? throw new InvalidOperationException($"{Resource} is not built into the assembly.");
        return JsonNode.Parse(stream)!.AsObject();
    });

    private static readonly Lazy<JsonObject> Narrowed = new(() => Narrow(Specification.Value));

    /// <summary>
    /// The specification's descriptor with only our tables, in its order, and only the foreign keys into them (a
    /// key into a table that is not there could not resolve). Paths stay relative, so each CSV is a sibling URL.
    /// </summary>
    public static JsonObject Descriptor() => Narrowed.Value.DeepClone().AsObject();

    /// <summary>The CSV of the resource at <paramref name="path"/> (services.csv, …), or null for none of ours.</summary>
    public static string? Csv(string path, HsdsView view) =>
        Resources().FirstOrDefault(r => Text(r, "path") == path) is { } resource ? Write(resource, view) : null;

    /// <summary>datapackage.json and every CSV in one zip, as the descriptor's relative paths expect them.</summary>
    public static byte[] Zip(HsdsView view)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            Add(zip, "datapackage.json", Descriptor().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            foreach (var resource in Resources())
            {
                Add(zip, Text(resource, "path")!, Write(resource, view));
            }
        }

        return buffer.ToArray();
    }

    private static void Add(ZipArchive zip, string name, string text)
    {
        // A fixed time: the same directory zips to the same bytes.
        var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
        entry.LastWriteTime = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
        using var stream = entry.Open();
        stream.Write(Encoding.UTF8.GetBytes(text));
    }

    private static IEnumerable<JsonObject> Resources() => ((JsonArray)Narrowed.Value["resources"]!).OfType<JsonObject>();

    private static JsonObject Narrow(JsonObject specification)
    {
        var descriptor = specification.DeepClone().AsObject();
        var resources = ((JsonArray)descriptor["resources"]!).OfType<JsonObject>().Where(r => Tables.Contains(Text(r, "name"))).ToList();
        foreach (var resource in resources)
        {
            if (resource["schema"]?["foreignKeys"] is JsonArray keys)
            {
                foreach (var key in keys.OfType<JsonObject>().Where(k => !Tables.Contains(Text(k["reference"]!.AsObject(), "resource"))).ToList())
                {
                    keys.Remove(key);
                }
            }
        }

        descriptor["resources"] = new JsonArray([.. resources.Select(r => (JsonNode)r.DeepClone())]);
        return descriptor;
    }

    private static string Write(JsonObject resource, HsdsView view)
    {
        var fields = ((JsonArray)resource["schema"]!["fields"]!).OfType<JsonObject>()
            .Select(f => (Name: Text(f, "name")!, IsString: Text(f, "type") == "string"))
            .ToList();
        var csv = new StringBuilder();
        AppendRow(csv, fields.Select(f => f.Name));
        foreach (var row in Rows(Text(resource, "name")!, view))
        {
            AppendRow(csv, fields.Select(f => Cell(row[f.Name], f.IsString)));
        }

        return csv.ToString();
    }

    /// <summary>The objects of one table, each with the ids that link it to its parent.</summary>
    private static IEnumerable<JsonObject> Rows(string table, HsdsView view)
    {
        var services = view.Services.Select(s => s.Service).ToList();
        var atLocations = services.SelectMany(s => HsdsView.Items(s, "service_at_locations").Select(sal =>
            Linked(sal, ("service_id", s["id"]), ("location_id", sal["location"]?["id"])))).ToList();
        var locations = atLocations.Select(sal => sal["location"]).OfType<JsonObject>().DistinctBy(l => HsdsView.Text(l, "id")).ToList();
        return table switch
        {
            "organization" => view.Organizations,
            "service" => services.Select(s => Linked(s, ("organization_id", s["organization"]?["id"]))),
            "attribute" =>
            [
                .. services.SelectMany(s => Attributes(s, "service")),
                .. view.Organizations.SelectMany(o => Attributes(o, "organization")),
            ],
            "service_at_location" => atLocations,
            "location" => locations,
            "schedule" => Children(services, "schedules"),
            "service_area" => Children(services, "service_areas"),
            "language" => Children(services, "languages"),
            "accessibility" => locations.SelectMany(l => HsdsView.Items(l, "accessibility").Select(a => Linked(a, ("location_id", l["id"])))),
            "taxonomy_term" => view.Terms,
            "taxonomy" => view.Taxonomies,
            _ => [],
        };
    }

    /// <summary>The attributes of a service or an organization, each linked to it and to its term.</summary>
    private static IEnumerable<JsonObject> Attributes(JsonObject owner, string entity) =>
        HsdsView.Items(owner, "attributes").Select(a =>
            Linked(a, ("link_id", owner["id"]), ("link_entity", entity), ("taxonomy_term_id", HsdsView.TermId(a))));

    private static IEnumerable<JsonObject> Children(IEnumerable<JsonObject> services, string list) =>
        services.SelectMany(s => HsdsView.Items(s, list).Select(item => Linked(item, ("service_id", s["id"]))));

    /// <summary>A copy with the links set where the object does not carry them itself.</summary>
    private static JsonObject Linked(JsonObject item, params (string Name, JsonNode? Value)[] links)
    {
        var copy = item.DeepClone().AsObject();
        foreach (var (name, value) in links)
        {
            if (copy[name] is null && value is not null)
            {
                copy[name] = value.DeepClone();
            }
        }

        return copy;
    }

    /// <summary>
    /// A value as its cell: text as it is (neutralised against formulas, <see cref="CsvCells"/>, in the string
    /// fields: numbers, dates and booleans are written from typed values and cannot start a formula), numbers in
    /// invariant notation, lists and objects (other tables' rows) not at all.
    /// </summary>
    private static string? Cell(JsonNode? value, bool isString) => value switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.String => isString ? CsvCells.Neutralise(v.GetValue<string>()) : v.GetValue<string>(),
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.ToJsonString(),
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValueKind() == JsonValueKind.True ? "true" : "false",
        _ => null,
    };

    private static string? Text(JsonObject value, string name) => HsdsView.Text(value, name);

    private static void AppendRow(StringBuilder csv, IEnumerable<string?> fields)
    {
        csv.AppendJoin(',', fields.Select(Quote));
        csv.Append("\r\n");
    }

    private static string Quote(string? value) =>
        value is null ? ""
        : value.IndexOfAny([',', '"', '\r', '\n']) >= 0 || value != value.Trim()
            ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\""
            : value;
}
