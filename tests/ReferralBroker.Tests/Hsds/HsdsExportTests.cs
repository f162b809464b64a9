using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ReferralBroker.Partners;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Tests.Hsds;

/// <summary>
/// The directory's HSDS 3.0 out: every exported service is valid under the specification's own schemas (both ways its
/// CI checks), with UUIDs for the service, its organization and every nested item, taxonomy terms with id, name and
/// description, no accessibility on the service, and never the private referral address.
/// </summary>
public sealed class HsdsExportTests : IDisposable
{
    private readonly BrokerApp _app = Coordinator.App(runDispatcher: false);

    public void Dispose() => _app.Dispose();

    private async Task<JsonArray> ExportAsync() =>
        (await Coordinator.Client(_app).GetFromJsonAsync<JsonNode>("/api/admin/directory"))!["services"]!.AsArray();

    private async Task SeedAsync()
    {
        Assert.Equal(HttpStatusCode.Created, (await Coordinator.PutPartnerAsync(_app,
            Coordinator.Service("swl-clinic", ["health", "housing"], ["th", "en"], ["sex-worker-led", "no-id-required"]),
            referralEmail: "private-intake@swl.example.org")).StatusCode);
        var bare = new JsonObject
        {
            ["name"] = "Bare shelter",
            ["attributes"] = new JsonArray(new JsonObject { ["taxonomy_term"] = new JsonObject { ["taxonomy"] = "referral-broker-category", ["code"] = "housing" } }),
        };
        Assert.Equal(HttpStatusCode.Created, (await Coordinator.Client(_app).PutAsJsonAsync("/api/admin/partners/bare-shelter",
            new JsonObject { ["referralEmail"] = "beds@shelter.example.org", ["service"] = bare })).StatusCode);
    }

    [Fact]
    public async Task Every_exported_service_is_valid_against_the_HSDS_3_schemas_both_ways()
    {
        await SeedAsync();
        var services = await ExportAsync();

        Assert.True(services.Count >= 5); // the three demo partners of the configuration, and the two above
        foreach (var service in services)
        {
            Assert.Empty(HsdsSchemas.ValidateService(service));
            Assert.Empty(HsdsSchemas.ValidateOrganization(service!["organization"]));
        }
    }

    [Fact]
    public void The_taxonomies_and_their_terms_are_valid_HSDS_with_fixed_ids()
    {
        var taxonomies = HsdsMapping.Taxonomies;
        Assert.Equal(["referral-broker-category", "referral-broker-safety", "referral-broker-id"], taxonomies.Select(t => t.Name));
        foreach (var taxonomy in taxonomies)
        {
            Assert.Empty(HsdsSchemas.ValidateTaxonomy(JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(taxonomy, HsdsTestJson.Options))));
        }

        Assert.Equal(3 + 6 + 1, HsdsMapping.Terms.Count); // built-in categories, safety attributes, the slug
        foreach (var term in HsdsMapping.Terms)
        {
            Assert.Empty(HsdsSchemas.ValidateTaxonomyTerm(JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(term, HsdsTestJson.Options))));
            Assert.Contains(taxonomies, t => t.Id == term.TaxonomyId && t.Name == term.Taxonomy);
        }

        Assert.Equal(HsdsMapping.Terms.Count, HsdsMapping.Terms.Select(t => t.Id).Distinct().Count());
        // The same term has the same id wherever it is computed: derived from the fixed taxonomy id and the code.
        Assert.Equal(HsdsMapping.Terms[0].Id, HsdsMapping.CategoryTerm(ReferralBroker.Lifecycle.ServiceCategory.Health).Id);
    }

    [Fact]
    public async Task The_referral_address_is_in_no_HSDS_service_only_beside_them_in_the_coordinators_backup()
    {
        var service = Coordinator.Service("quiet-clinic", email: "hello@quiet.example.org");
        Assert.Equal(HttpStatusCode.Created, (await Coordinator.PutPartnerAsync(_app, service, referralEmail: "secret-intake@quiet.example.org")).StatusCode);

        var client = Coordinator.Client(_app);
        var admin = (await client.GetFromJsonAsync<JsonNode>("/api/admin/partners/quiet-clinic"))!;
        Assert.Equal("secret-intake@quiet.example.org", admin["referralEmail"]!.GetValue<string>());
        Assert.Equal("hello@quiet.example.org", admin["service"]!["email"]!.GetValue<string>());
        Assert.DoesNotContain("secret-intake", admin["service"]!.ToJsonString(), StringComparison.Ordinal);

        var backup = (await client.GetFromJsonAsync<JsonNode>("/api/admin/directory"))!;
        Assert.DoesNotContain("secret-intake", backup["services"]!.ToJsonString(), StringComparison.Ordinal);
        var serviceId = backup["services"]!.AsArray().Single(s => Coordinator.SlugOf(s!) == "quiet-clinic")!["id"]!.GetValue<string>();
        Assert.Equal("secret-intake@quiet.example.org", backup["referral_emails"]![serviceId]!.GetValue<string>());
        // Nor on the public directory.
        Assert.DoesNotContain("secret-intake", await _app.CreateClient().GetStringAsync("/api/partners"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_id_is_a_UUID_every_nested_item_has_one_and_accessibility_is_on_a_location_not_the_service()
    {
        await SeedAsync();
        var service = (await ExportAsync()).Single(s => Coordinator.SlugOf(s!) == "swl-clinic")!;

        Assert.Null(service["accessibility"]);
        var location = Assert.Single(service["service_at_locations"]!.AsArray())!["location"]!;
        Assert.Equal("Step-free entrance, \"quiet\" room", location["accessibility"]![0]!["description"]!.GetValue<string>());
        var items = new[] { "languages", "service_areas", "schedules", "service_at_locations", "attributes" }
            .SelectMany(list => service[list]!.AsArray()).Append(service["organization"]).Append(location).ToList();
        Assert.Equal(2 + 2 + 1 + 1 + (1 + 2 + 2), items.Count - 2);
        Assert.All(items, item => Assert.True(Guid.TryParseExact(item!["id"]!.GetValue<string>(), "D", out _)));
        Assert.Equal(service["organization"]!["id"]!.GetValue<string>(), service["organization_id"]!.GetValue<string>());
        var ids = AllIds(service).ToList();
        // Only the slug term's id appears twice: on the service's slug attribute and on the organization's.
        Assert.Equal(ids.Count, ids.Distinct().Count() + 1);
        foreach (var attribute in service["attributes"]!.AsArray())
        {
            var term = attribute!["taxonomy_term"]!;
            Assert.Equal(term["id"]!.GetValue<string>(), attribute["taxonomy_term_id"]!.GetValue<string>());
            Assert.False(string.IsNullOrEmpty(term["name"]?.GetValue<string>()));
            Assert.False(string.IsNullOrEmpty(term["description"]?.GetValue<string>()));
            Assert.Contains(HsdsMapping.Taxonomies, t => t.Id == term["taxonomy_id"]!.GetValue<string>() && t.Name == term["taxonomy"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Ids_stay_the_same_across_exports_and_edits_and_a_new_item_gets_a_new_one()
    {
        await SeedAsync();
        var before = (await ExportAsync()).Single(s => Coordinator.SlugOf(s!) == "swl-clinic")!;
        Assert.Equal(before.ToJsonString(), (await ExportAsync()).Single(s => Coordinator.SlugOf(s!) == "swl-clinic")!.ToJsonString());

        var edited = Coordinator.Service("swl-clinic", ["health", "housing"], ["th", "pt-BR"], ["sex-worker-led", "no-id-required"]);
        edited["name"] = "Renamed clinic";
        Assert.Equal(HttpStatusCode.OK, (await Coordinator.PutPartnerAsync(_app, edited, referralEmail: "private-intake@swl.example.org")).StatusCode);
        var after = (await ExportAsync()).Single(s => Coordinator.SlugOf(s!) == "swl-clinic")!;

        Assert.Equal(before["id"]!.GetValue<string>(), after["id"]!.GetValue<string>());
        Assert.Equal(before["organization"]!["id"]!.GetValue<string>(), after["organization"]!["id"]!.GetValue<string>());
        Assert.Equal(LanguageId(before, "th"), LanguageId(after, "th"));
        Assert.DoesNotContain(LanguageId(after, "pt-BR"), AllIds(before));
        Assert.Equal(before["schedules"]!.ToJsonString(), after["schedules"]!.ToJsonString());
        Assert.Equal(before["attributes"]!.ToJsonString(), after["attributes"]!.ToJsonString());
    }

    [Fact]
    public async Task Ids_stay_the_same_across_a_restart_and_partners_of_one_provider_share_one_organization()
    {
        await SeedAsync();
        var other = Coordinator.Service("swl-night");
        other["organization"]!["attributes"]![0]!["value"] = "swl-clinic-org";
        Assert.Equal(HttpStatusCode.Created, (await Coordinator.PutPartnerAsync(_app, other)).StatusCode);
        var before = await ExportAsync();
        Assert.Equal(OrganizationId(before, "swl-clinic"), OrganizationId(before, "swl-night"));
        Assert.NotEqual(OrganizationId(before, "swl-clinic"), OrganizationId(before, "bare-shelter"));

        _app.Dispose();
        using var restarted = Coordinator.App(dataPath: _app.DataPath);
        var after = (await Coordinator.Client(restarted).GetFromJsonAsync<JsonNode>("/api/admin/directory"))!["services"]!;
        Assert.Equal(before.ToJsonString(), after.ToJsonString());
    }

    [Fact]
    public async Task A_partner_stored_before_records_had_HSDS_ids_gets_them_at_start_and_keeps_them()
    {
        await SeedAsync();
        _app.Dispose();
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_app.DatabasePath};Pooling=False"))
        {
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE directory_partners SET record = json_remove(record, '$.hsdsIds')";
            Assert.True(await command.ExecuteNonQueryAsync() >= 5);
        }

        string first;
        using (var restarted = Coordinator.App(dataPath: _app.DataPath))
        {
            var services = (await Coordinator.Client(restarted).GetFromJsonAsync<JsonNode>("/api/admin/directory"))!["services"]!.AsArray();
            Assert.All(services, s => Assert.Empty(HsdsSchemas.ValidateService(s)));
            first = services.ToJsonString();
        }

        using var again = Coordinator.App(dataPath: _app.DataPath);
        Assert.Equal(first, (await Coordinator.Client(again).GetFromJsonAsync<JsonNode>("/api/admin/directory"))!["services"]!.ToJsonString());
    }

    private static string LanguageId(JsonNode service, string code) =>
        service["languages"]!.AsArray().Single(l => l!["code"]!.GetValue<string>() == code)!["id"]!.GetValue<string>();

    private static string OrganizationId(JsonArray services, string slug) =>
        services.Single(s => Coordinator.SlugOf(s!) == slug)!["organization"]!["id"]!.GetValue<string>();

    private static IEnumerable<string> AllIds(JsonNode node) => node switch
    {
        JsonObject o => o.SelectMany(p => p.Key == "id" && p.Value is JsonValue v ? [v.GetValue<string>()] : p.Value is null ? [] : AllIds(p.Value)),
        JsonArray a => a.SelectMany(i => i is null ? [] : AllIds(i)),
        _ => [],
    };
}

/// <summary>HSDS objects serialised as the broker's endpoints write them: snake_case names as declared, nulls left out.</summary>
internal static class HsdsTestJson
{
    public static readonly System.Text.Json.JsonSerializerOptions Options = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
}
