using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ReferralBroker.Tests.Hsds;

/// <summary>
/// What <c>frictionless validate datapackage.json</c> (the specification's CI for its CSV example) checks of a
/// Tabular Data Package, written here because CI has no Python package index: every resource's CSV parses (RFC
/// 4180, UTF-8), its header is the descriptor's field names in order, every row has one cell per field and is not
/// blank, every cell casts to its field's type and format (string: default, uuid, email, uri; number, integer,
/// boolean, date, datetime, time) and meets its constraints (required, enum, unique), the primary key is unique,
/// and every foreign key resolves in the resource it names (a table the descriptor does not have is itself an
/// error). An empty cell is a missing value, as frictionless's default <c>missingValues: [""]</c> makes it.
/// Errors read "path row N field: what", rows counted as a spreadsheet shows them (the header is row 1).
/// </summary>
internal static partial class DataPackageCheck
{
    public static IReadOnlyList<string> Errors(JsonObject descriptor, Func<string, string?> readFile)
    {
        var errors = new List<string>();
        var tables = new Dictionary<string, (List<string> Fields, List<string?[]> Rows)>(StringComparer.Ordinal);
        var resources = (descriptor["resources"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        if (resources.Count == 0)
        {
            errors.Add("datapackage.json: no resources.");
        }

        foreach (var resource in resources)
        {
            var name = (string?)resource["name"] ?? "";
            var path = (string?)resource["path"];
            if (path is null || Path.IsPathRooted(path) || path.Contains("..", StringComparison.Ordinal) || path.Contains("://", StringComparison.Ordinal))
            {
                errors.Add($"{name}: the path must be relative to the descriptor, not '{path}'.");
                continue;
            }

            var fields = (resource["schema"]?["fields"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
            if (readFile(path) is not { } text)
            {
                errors.Add($"{path}: not found.");
                continue;
            }

            if (Parse(text, out var parseError) is not { } rows)
            {
                errors.Add($"{path}: {parseError}");
                continue;
            }

            var names = fields.Select(f => (string)f["name"]!).ToList();
            if (rows.Count == 0 || !rows[0].SequenceEqual(names))
            {
                errors.Add($"{path} row 1: the header is '{(rows.Count > 0 ? string.Join(",", rows[0]) : "")}', the descriptor's fields are '{string.Join(",", names)}'.");
                continue;
            }

            var values = new List<string?[]>();
            for (var r = 1; r < rows.Count; r++)
            {
                var row = rows[r];
                var at = $"{path} row {r + 1}";
                if (row.All(c => c.Length == 0))
                {
                    errors.Add($"{at}: blank row.");
                    continue;
                }

                if (row.Count != fields.Count)
                {
                    errors.Add($"{at}: {row.Count} cells, {fields.Count} fields.");
                    continue;
                }

                var cells = row.Select(c => c.Length == 0 ? null : c).ToArray();
                for (var f = 0; f < fields.Count; f++)
                {
                    if (CellError(fields[f], cells[f]) is { } error)
                    {
                        errors.Add($"{at} {names[f]}: {error}");
                    }
                }

                values.Add(cells);
            }

            for (var f = 0; f < fields.Count; f++)
            {
                if (fields[f]["constraints"]?["unique"] is JsonValue unique && (bool)unique)
                {
                    Duplicates(errors, path, names[f], values.Select(v => v[f]));
                }
            }

            if (Keys(resource["schema"]?["primaryKey"]) is { Count: > 0 } primaryKey)
            {
                var indexes = primaryKey.Select(k => names.IndexOf(k)).ToList();
                if (indexes.Contains(-1))
                {
                    errors.Add($"{path}: the primary key names a field it does not have.");
                }
                else
                {
                    if (values.Count(v => indexes.Any(i => v[i] is null)) is > 0 and var missing)
                    {
                        errors.Add($"{path}: {missing} rows without their primary key ({string.Join(",", primaryKey)}).");
                    }

                    Duplicates(errors, path, string.Join(",", primaryKey),
                        values.Where(v => indexes.All(i => v[i] is not null)).Select(v => string.Join("\u001f", indexes.Select(i => v[i]))));
                }
            }

            tables[name] = (names, values);
        }

        foreach (var resource in resources.Where(r => tables.ContainsKey((string)r["name"]!)))
        {
            var (names, values) = tables[(string)resource["name"]!];
            foreach (var key in (resource["schema"]?["foreignKeys"] as JsonArray)?.OfType<JsonObject>() ?? [])
            {
                var own = Keys(key["fields"]);
                var target = (string?)key["reference"]?["resource"] ?? "";
                var theirs = Keys(key["reference"]?["fields"]);
                // "" refers to the resource itself, as in the Table Schema specification.
                if (!tables.TryGetValue(target.Length == 0 ? (string)resource["name"]! : target, out var referenced))
                {
                    errors.Add($"{(string?)resource["path"]}: a foreign key into '{target}', a resource the package does not have.");
                    continue;
                }

                var ownIndexes = own.Select(k => names.IndexOf(k)).ToList();
                var theirIndexes = theirs.Select(k => referenced.Fields.IndexOf(k)).ToList();
                if (ownIndexes.Contains(-1) || theirIndexes.Contains(-1) || own.Count != theirs.Count)
                {
                    errors.Add($"{(string?)resource["path"]}: the foreign key {string.Join(",", own)} → {target} names fields that are not there.");
                    continue;
                }

                var known = referenced.Rows.Select(v => string.Join("\u001f", theirIndexes.Select(i => v[i]))).ToHashSet(StringComparer.Ordinal);
                foreach (var row in values.Where(v => ownIndexes.All(i => v[i] is not null)))
                {
                    var value = string.Join("\u001f", ownIndexes.Select(i => row[i]));
                    if (!known.Contains(value))
                    {
                        errors.Add($"{(string?)resource["path"]} {string.Join(",", own)}: '{value}' is no {target}'s {string.Join(",", theirs)}.");
                    }
                }
            }
        }

        return errors;
    }

    /// <summary>Why <paramref name="cell"/> (null: missing) does not fit <paramref name="field"/>, or null when it does.</summary>
    public static string? CellError(JsonObject field, string? cell)
    {
        var constraints = field["constraints"] as JsonObject;
        if (cell is null)
        {
            return constraints?["required"] is JsonValue required && (bool)required ? "required, but empty." : null;
        }

        var type = (string?)field["type"] ?? "string";
        var format = (string?)field["format"] ?? "default";
        var fits = type switch
        {
            "string" => format switch
            {
                "default" => true,
                "uuid" => UuidPattern().IsMatch(cell),
                "email" => EmailPattern().IsMatch(cell),
                "uri" => Uri.TryCreate(cell, UriKind.Absolute, out var uri) && uri.Scheme.Length > 0 && !cell.Any(char.IsWhiteSpace),
                _ => false,
            },
            "number" => NumberPattern().IsMatch(cell),
            "integer" => IntegerPattern().IsMatch(cell),
            "boolean" => cell is "true" or "True" or "TRUE" or "1" or "false" or "False" or "FALSE" or "0",
            "date" => DateOnly.TryParseExact(cell, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
            "datetime" => DateTimePattern().IsMatch(cell)
                && DateTimeOffset.TryParse(cell, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _),
            "time" => TimeOnly.TryParseExact(cell, ["HH:mm:ss", "HH:mm:ss.FFFFFFF"], CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
            _ => false,
        };
        if (!fits)
        {
            return $"'{cell}' is not of type {type}{(format == "default" ? "" : $", format {format}")}.";
        }

        return constraints?["enum"] is JsonArray allowed && !allowed.Any(a => (string?)a == cell)
            ? $"'{cell}' is not one of {string.Join(", ", allowed.Select(a => (string?)a))}."
            : null;
    }

    /// <summary>RFC 4180: rows of fields, quoted fields may hold commas, quotes ("") and line breaks.</summary>
    public static List<List<string>>? Parse(string text, out string? error)
    {
        error = null;
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var wasQuoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c != '"')
                {
                    field.Append(c);
                }
                else if (i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else
                {
                    quoted = false;
                }
            }
            else if (c == '"' && field.Length == 0 && !wasQuoted)
            {
                quoted = wasQuoted = true;
            }
            else if (c == ',')
            {
                row.Add(field.ToString());
                field.Clear();
                wasQuoted = false;
            }
            else if (c is '\r' or '\n')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }

                row.Add(field.ToString());
                field.Clear();
                wasQuoted = false;
                rows.Add(row);
                row = [];
            }
            else if (wasQuoted)
            {
                error = $"row {rows.Count + 1}: text after a closing quote.";
                return null;
            }
            else
            {
                field.Append(c);
            }
        }

        if (quoted)
        {
            error = $"row {rows.Count + 1}: a quoted field is not closed.";
            return null;
        }

        if (field.Length > 0 || row.Count > 0)
        {
            row.Add(field.ToString());
            rows.Add(row);
        }

        return rows;
    }

    private static void Duplicates(List<string> errors, string path, string field, IEnumerable<string?> values)
    {
        foreach (var duplicate in values.OfType<string>().GroupBy(v => v, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            errors.Add($"{path} {field}: '{duplicate.Key}' in {duplicate.Count()} rows, but it must be unique.");
        }
    }

    private static List<string> Keys(JsonNode? node) => node switch
    {
        JsonArray names => [.. names.Select(n => (string)n!)],
        JsonValue name => [(string)name!],
        _ => [],
    };

    [GeneratedRegex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    private static partial Regex UuidPattern();

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    private static partial Regex EmailPattern();

    [GeneratedRegex(@"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")]
    private static partial Regex NumberPattern();

    [GeneratedRegex(@"^[+-]?\d+$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")]
    private static partial Regex DateTimePattern();
}
