using System.Text;
using ReferralBroker.Http;

namespace ReferralBroker.Partners;

/// <summary>
/// The directory as CSV (RFC 4180, one partner per row) for people who keep it in a spreadsheet. Lists are
/// joined with ';'. It carries the same fields as the HSDS JSON and is read back into the same objects, so one
/// set of rules checks both. Every field is neutralised against formula injection (<see cref="CsvCells"/>).
/// </summary>
internal static class DirectoryCsv
{
    public static readonly IReadOnlyList<string> Columns =
    [
        "id", "name", "description", "email", "status", "organization_id", "organization_name",
        "categories", "attributes", "languages", "service_areas", "hours", "accessibility",
    ];

    public static string Write(HsdsDirectory directory)
    {
        var csv = new StringBuilder();
        AppendRow(csv, Columns);
        foreach (var s in directory.Services ?? [])
        {
            var terms = (s.Attributes ?? []).Select(a => a.TaxonomyTerm).OfType<HsdsTaxonomyTerm>().ToList();
            AppendRow(csv,
            [
                s.Id, s.Name, s.Description, s.Email, s.Status, s.Organization?.Id, s.Organization?.Name,
                Join(terms.Where(t => t.Taxonomy == HsdsMapping.CategoryTaxonomy).Select(t => t.Code)),
                Join(terms.Where(t => t.Taxonomy == HsdsMapping.SafetyTaxonomy).Select(t => t.Code)),
                Join((s.Languages ?? []).Select(l => l.Code)),
                Join((s.ServiceAreas ?? []).Select(a => a.Name)),
                s.Schedules is [var schedule, ..] ? schedule.Description : null,
                s.Accessibility is [var accessibility, ..] ? accessibility.Description : null,
            ]);
        }

        return csv.ToString();
    }

    /// <summary>The services in <paramref name="text"/>, or null with the reason in <paramref name="error"/>.</summary>
    public static List<HsdsService>? Read(string text, out string? error)
    {
        var rows = Parse(text, out error);
        if (rows is null)
        {
            return null;
        }

        if (rows.Count == 0 || !rows[0].SequenceEqual(Columns))
        {
            error = $"The first row must be the header {string.Join(",", Columns)}.";
            return null;
        }

        var services = new List<HsdsService>();
        for (var r = 1; r < rows.Count; r++)
        {
            var row = rows[r];
            if (row.Count != Columns.Count)
            {
                error = $"Row {r + 1} has {row.Count} fields; every row needs {Columns.Count}.";
                return null;
            }

            var field = Columns.Select((name, i) => (name, value: row[i].Length == 0 ? null : CsvCells.Restore(row[i]))).ToDictionary(f => f.name, f => f.value);
            services.Add(new HsdsService(
                field["id"], field["name"], field["description"], field["email"], field["status"],
                field["organization_id"] is null && field["organization_name"] is null
                    ? null
                    : new HsdsOrganization(field["organization_id"], field["organization_name"]),
                [.. Split(field["languages"]).Select(l => new HsdsLanguage(l))],
                [.. Split(field["service_areas"]).Select(a => new HsdsServiceArea(a))],
                field["hours"] is { } hours ? [new HsdsSchedule(hours)] : [],
                field["accessibility"] is { } accessibility ? [new HsdsAccessibility(accessibility)] : [],
                [
                    .. Split(field["categories"]).Select(c => new HsdsAttribute(new HsdsTaxonomyTerm(HsdsMapping.CategoryTaxonomy, c))),
                    .. Split(field["attributes"]).Select(a => new HsdsAttribute(new HsdsTaxonomyTerm(HsdsMapping.SafetyTaxonomy, a))),
                ]));
        }

        return services;
    }

    private static string Join(IEnumerable<string?> values) => string.Join(';', values.OfType<string>());

    private static string[] Split(string? value) =>
        value is null ? [] : value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static void AppendRow(StringBuilder csv, IEnumerable<string?> fields)
    {
        csv.AppendJoin(',', fields.Select(Quote));
        csv.Append("\r\n");
    }

    private static string Quote(string? value)
    {
        if (value is null)
        {
            return "";
        }

        var field = CsvCells.Neutralise(value);
        return field.IndexOfAny([',', '"', '\r', '\n']) >= 0 || field != field.Trim()
            ? $"\"{field.Replace("\"", "\"\"", StringComparison.Ordinal)}\""
            : field;
    }

    private static List<List<string>>? Parse(string text, out string? error)
    {
        error = null;
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var i = text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0; // spreadsheets like to start with a byte order mark
        for (; i < text.Length; i++)
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
            else if (c == '"' && field.Length == 0)
            {
                quoted = true;
            }
            else if (c == ',')
            {
                row.Add(field.ToString());
                field.Clear();
            }
            else if (c is '\r' or '\n')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }

                row.Add(field.ToString());
                field.Clear();
                rows.Add(row);
                row = [];
            }
            else
            {
                field.Append(c);
            }
        }

        if (quoted)
        {
            error = "A quoted field is not closed.";
            return null;
        }

        if (field.Length > 0 || row.Count > 0)
        {
            row.Add(field.ToString());
            rows.Add(row);
        }

        return rows;
    }
}
