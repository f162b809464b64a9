using System.Text;
using ReferralBroker.Http;
using ReferralBroker.Lifecycle;
using ReferralBroker.Referrals;

namespace ReferralBroker.Partners;

/// <summary>One entry of an import: an HSDS service, the slug given beside it (the CSV's id column) and its referral address.</summary>
internal sealed record DirectoryEntry(HsdsService? Service, string? Slug, string? ReferralEmail);

/// <summary>
/// The directory as CSV (RFC 4180, one partner per row) for people who keep it in a spreadsheet: the coordinator's
/// own columns, not HSDS's (the HSDS Data Package is the public one). Lists are joined with ';'. It carries the
/// partner's fields, its referral address among them, but no HSDS ids: an import keeps the ids of the partners it
/// updates and mints new ones for new partners. Rows are read back into HSDS services, so one set of rules checks
/// both formats. Every field is neutralised against formula injection (<see cref="CsvCells"/>).
/// </summary>
internal static class DirectoryCsv
{
    public static readonly IReadOnlyList<string> Columns =
    [
        "id", "name", "description", "referral_email", "email", "status", "organization_id", "organization_name",
        "categories", "attributes", "languages", "service_areas", "hours", "accessibility",
    ];

    public static string Write(IEnumerable<Partner> partners)
    {
        var csv = new StringBuilder();
        AppendRow(csv, Columns);
        foreach (var p in partners)
        {
            AppendRow(csv,
            [
                p.Id, p.Name, p.Description, p.Email, p.PublicEmail, p.Paused ? "inactive" : "active", p.Provider?.Id, p.Provider?.Name,
                Join(p.Categories.Select(WireNames.Of)), Join(p.Attributes), Join(p.Languages), Join(p.ServiceAreas), p.Hours, p.Accessibility,
            ]);
        }

        return csv.ToString();
    }

    /// <summary>The entries in <paramref name="text"/>, or null with the reason in <paramref name="error"/>.</summary>
    public static List<DirectoryEntry>? Read(string text, out string? error)
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

        var entries = new List<DirectoryEntry>();
        for (var r = 1; r < rows.Count; r++)
        {
            var row = rows[r];
            if (row.Count != Columns.Count)
            {
                error = $"Row {r + 1} has {row.Count} fields; every row needs {Columns.Count}.";
                return null;
            }

            var field = Columns.Select((name, i) => (name, value: row[i].Length == 0 ? null : CsvCells.Restore(row[i]))).ToDictionary(f => f.name, f => f.value);
            var service = new HsdsService(
                null, field["name"], field["description"], field["email"], field["status"],
                field["organization_id"] is null && field["organization_name"] is null
                    ? null
                    : new HsdsOrganization(null, field["organization_name"], null,
                        field["organization_id"] is { } provider ? [Slug(provider)] : null),
                [.. Split(field["languages"]).Select(l => new HsdsLanguage(null, l))],
                [.. Split(field["service_areas"]).Select(a => new HsdsServiceArea(null, a))],
                field["hours"] is { } hours ? [new HsdsSchedule(null, hours)] : [],
                field["accessibility"] is { } accessibility
                    ? [new HsdsServiceAtLocation(null, new HsdsLocation(null, "physical", [new HsdsAccessibility(null, accessibility)]))]
                    : [],
                [
                    .. Split(field["categories"]).Select(c => Term(HsdsMapping.CategoryTaxonomy, c)),
                    .. Split(field["attributes"]).Select(a => Term(HsdsMapping.SafetyTaxonomy, a)),
                ]);
            entries.Add(new DirectoryEntry(service, field["id"] ?? "", field["referral_email"]));
        }

        return entries;
    }

    private static HsdsAttribute Term(string taxonomy, string code) => new(null, null, null, new HsdsTaxonomyTerm(null, code, null, null, taxonomy, null));

    private static HsdsAttribute Slug(string slug) =>
        new(null, null, slug, new HsdsTaxonomyTerm(null, HsdsMapping.SlugCode, null, null, HsdsMapping.IdTaxonomy, null));

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
