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
}

/// <summary>HSDS objects serialised as the broker's endpoints write them: snake_case names as declared, nulls left out.</summary>
internal static class HsdsTestJson
{
    public static readonly System.Text.Json.JsonSerializerOptions Options = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
}
