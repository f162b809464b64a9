using System.Text.Json.Nodes;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Tests.Hsds;

/// <summary>
/// The Data Package check itself, so that its silence about our package means something: on the specification's
/// own example (Spec/examples/csv, every table and type of HSDS) it finds only what is really wrong there, and each
/// kind of breakage made in our package is found.
/// </summary>
public sealed class DataPackageCheckTests
{
    private static readonly string ExampleDirectory = Path.Combine(HsdsSchemas.SpecDirectory, "examples", "csv");

    private static JsonObject SpecDescriptor() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(HsdsSchemas.SpecDirectory, "datapackage.json")))!.AsObject();

    [Fact]
    public void On_the_specifications_example_it_finds_only_the_four_foreign_keys_that_point_at_no_row()
    {
        var errors = DataPackageCheck.Errors(SpecDescriptor(), path =>
            File.Exists(Path.Combine(ExampleDirectory, path)) ? File.ReadAllText(Path.Combine(ExampleDirectory, path)) : null);

        // The example's ids do not all meet (its taxonomy_terms.csv names a taxonomy that taxonomies.csv does not
        // have, and so on); every value, header, type and format of its 21 tables passes.
        Assert.Equal(
        [
            "contacts.csv organization_id: 'ae67a707-5893-4225-b0b1-320ab9cb596b' is no organization's id.",
            "contacts.csv service_at_location_id: '93eaf18d-1cd2-4ec7-bffb-3c9172ee5070' is no service_at_location's id.",
            "locations.csv organization_id: '985e4a42-bd9f-4edc-911d-0243a4640aca' is no organization's id.",
            "taxonomy_terms.csv taxonomy_id: '07ff6aee-a219-438c-b694-d2fcb6c5373b' is no taxonomy's id.",
        ], errors.Order(StringComparer.Ordinal));
    }

    public static TheoryData<string, string, string> Breakages() => new()
    {
        // file, what is done to it (applied to the text of the CSV), what the check must say
        { "services.csv", "swap-header", "services.csv row 1: the header is" },
        { "services.csv", "id=not-a-uuid", "services.csv row 2 id: 'not-a-uuid' is not of type string, format uuid." },
        { "services.csv", "status=open", "services.csv row 2 status: 'open' is not one of active, inactive, defunct, temporarily closed." },
        { "services.csv", "name=", "services.csv row 2 name: required, but empty." },
        { "services.csv", "duplicate-row", "must be unique." },
        { "services.csv", "extra-cell", "services.csv row 2: 24 cells, 23 fields." },
        { "services.csv", "blank-row", "services.csv row 3: blank row." },
        { "services.csv", "unclosed-quote", "services.csv: row " },
        { "services.csv", "organization_id=" + "00000000-0000-4000-8000-000000000000", "services.csv organization_id: '00000000-0000-4000-8000-000000000000' is no organization's id." },
        { "attributes.csv", "taxonomy_term_id=" + "00000000-0000-4000-8000-000000000000", "attributes.csv taxonomy_term_id: '00000000-0000-4000-8000-000000000000' is no taxonomy_term's id." },
        { "organizations.csv", "website=not a uri", "organizations.csv row 2 website: 'not a uri' is not of type string, format uri." },
        { "organizations.csv", "email=nobody", "organizations.csv row 2 email: 'nobody' is not of type string, format email." },
        { "organizations.csv", "year_incorporated=twenty", "organizations.csv row 2 year_incorporated: 'twenty' is not of type number." },
        { "taxonomy_terms.csv", "missing", "taxonomy_terms.csv: not found." },
    };

    [Theory]
    [MemberData(nameof(Breakages))]
    public async Task Each_kind_of_breakage_made_in_our_package_is_found(string file, string breakage, string expected)
    {
        using var app = Coordinator.App();
        Assert.True((await Coordinator.PutPartnerAsync(app, Coordinator.Service("clinic-a"), "referrals@clinic-a.example.org")).IsSuccessStatusCode);
        var client = app.CreateClient();
        var descriptor = JsonNode.Parse(await client.GetStringAsync("/api/hsds/datapackage.json"))!.AsObject();
        var files = new Dictionary<string, string>();
        foreach (var resource in descriptor["resources"]!.AsArray())
        {
            files[(string)resource!["path"]!] = await client.GetStringAsync($"/api/hsds/{resource["path"]}");
        }

        Assert.Empty(DataPackageCheck.Errors(descriptor, files.GetValueOrDefault));
        files[file] = Break(files[file], breakage);
        if (breakage == "missing")
        {
            files.Remove(file);
        }

        var errors = DataPackageCheck.Errors(descriptor, files.GetValueOrDefault);
        Assert.True(errors.Any(e => e.Contains(expected, StringComparison.Ordinal)), $"Expected '{expected}', found: {string.Join(" | ", errors)}");
    }

    /// <summary>The CSV with one thing broken in its first data row (row 2).</summary>
    private static string Break(string csv, string breakage)
    {
        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).ToList();
        var header = DataPackageCheck.Parse(lines[0], out _)![0];
        switch (breakage)
        {
            case "swap-header":
                (header[1], header[2]) = (header[2], header[1]);
                lines[0] = string.Join(',', header);
                break;
            case "duplicate-row":
                lines.Add(lines[1]);
                break;
            case "extra-cell":
                lines[1] += ",x";
                break;
            case "blank-row":
                lines.Insert(2, new string(',', header.Count - 1));
                break;
            case "unclosed-quote":
                lines[1] = "\"" + lines[1];
                break;
            case "missing":
                break;
            default:
                var (field, value) = (breakage[..breakage.IndexOf('=')], breakage[(breakage.IndexOf('=') + 1)..]);
                var cells = DataPackageCheck.Parse(lines[1], out _)![0];
                cells[header.IndexOf(field)] = value;
                lines[1] = string.Join(',', cells.Select(c => c.Contains(',') || c.Contains('"') ? $"\"{c.Replace("\"", "\"\"")}\"" : c));
                break;
        }

        return string.Join("\r\n", lines) + "\r\n";
    }
}
