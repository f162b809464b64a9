using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Tests.Hsds;

/// <summary>
/// The public directory through the HSDS 3.0 API (/api/hsds/...), checked with the specification's own artefacts:
/// its Page and item schemas (HsdsSchemas), and the rules frictionless applies to a Data Package (DataPackageCheck).
/// </summary>
public sealed class HsdsApiTests : IDisposable
{
    private readonly BrokerApp _app = Coordinator.App(runDispatcher: false);

    public void Dispose() => _app.Dispose();

    private HttpClient Public => _app.CreateClient();

    /// <summary>Three partners, each with a public email and a private referral address (ReferralAddress).</summary>
    private async Task SeedAsync()
    {
        await Put(Coordinator.Service("swl-clinic", ["health"], ["th", "en"], ["sex-worker-led", "no-id-required"]));
        await Put(Coordinator.Service("law-centre", ["legal", "employment"], ["pt-BR", "es"], ["no-id-required"]));
        await Put(Coordinator.Service("shelter", ["housing"], ["ro"], ["confidential-address"]));
    }

    private static string ReferralAddress(string slug) => $"private-{slug}@referrals.example.org";

    private async Task Put(JsonObject service)
    {
        var response = await Coordinator.PutPartnerAsync(_app, service, ReferralAddress(Coordinator.SlugOf(service)));
        Assert.True(response.IsSuccessStatusCode, $"PUT {Coordinator.SlugOf(service)}: {await response.Content.ReadAsStringAsync()}");
    }

    private async Task<JsonObject> GetJsonAsync(string path)
    {
        var response = await Public.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(body)!.AsObject();
    }

    /// <summary>Every page of a list, fetched as a client would: until last_page.</summary>
    private async Task<List<JsonObject>> AllAsync(string path, int perPage)
    {
        var items = new List<JsonObject>();
        for (var page = 1; ; page++)
        {
            var answer = await GetJsonAsync($"{path}{(path.Contains('?', StringComparison.Ordinal) ? '&' : '?')}page={page}&per_page={perPage}");
            items.AddRange(answer["contents"]!.AsArray().Select(i => i!.AsObject()));
            if ((bool)answer["last_page"]!)
            {
                return items;
            }

            Assert.True(page < 100, "last_page never came");
        }
    }

    [Theory]
    [InlineData("/api/hsds/services", "compiled/service_list")]
    [InlineData("/api/hsds/services?full=true", "compiled/service")]
    [InlineData("/api/hsds/organizations", "compiled/organization_list")]
    [InlineData("/api/hsds/organizations?full=true&full_service=true", "compiled/organization")]
    [InlineData("/api/hsds/taxonomies", "taxonomy")]
    [InlineData("/api/hsds/taxonomy_terms", "taxonomy_term")]
    public async Task Every_list_is_an_HSDS_Page_whose_every_item_is_valid_under_the_specifications_schema(string path, string itemSchema)
    {
        await SeedAsync();
        var page = await GetJsonAsync(path);

        Assert.Empty(HsdsSchemas.ValidatePage(page, itemSchema));
        Assert.NotEmpty(page["contents"]!.AsArray());
        Assert.Equal(page["contents"]!.AsArray().Count, (int)page["size"]!);
    }

    [Fact]
    public async Task The_services_page_lists_every_partner_paused_ones_as_inactive_and_full_gives_what_each_service_route_gives()
    {
        await SeedAsync();
        Assert.True((await Coordinator.Client(_app).PostAsync("/api/admin/partners/shelter/pause", null)).IsSuccessStatusCode);

        var page = await GetJsonAsync("/api/hsds/services?per_page=500");
        var partners = Coordinator.Ids(await Coordinator.PartnersAsync(_app)).ToList();
        Assert.Equal(partners.Count, (int)page["total_items"]!);
        var services = page["contents"]!.AsArray().Select(s => s!.AsObject()).ToList();
        Assert.Equal(services.Count, services.Select(s => (string)s["id"]!).Distinct().Count());
        Assert.Equal(["inactive"], services.Where(s => (string)s["name"]! == "Service shelter").Select(s => (string)s["status"]!));
        Assert.All(services.Where(s => (string)s["name"]! != "Service shelter"), s => Assert.Equal("active", (string)s["status"]!));
        // A list item has the service's one-to-one fields and its organization, no lists.
        Assert.All(services, s => Assert.DoesNotContain(s, p => p.Value is JsonArray));

        foreach (var full in (await GetJsonAsync("/api/hsds/services?full=true&per_page=500"))["contents"]!.AsArray())
        {
            var one = await GetJsonAsync($"/api/hsds/services/{full!["id"]}");
            Assert.True(JsonNode.DeepEquals(full, one), $"{full["id"]}: the Page's full service differs from /services/{{id}}");
            Assert.Empty(HsdsSchemas.ValidateService(one));
        }
    }

    [Fact]
    public async Task A_service_is_found_by_its_HSDS_id_or_by_the_partners_slug_and_anything_else_is_a_404_problem()
    {
        await SeedAsync();
        var bySlug = await GetJsonAsync("/api/hsds/services/shelter");
        var id = (string)bySlug["id"]!;
        Assert.True(Guid.TryParseExact(id, "D", out _), $"'{id}' is not a UUID");
        Assert.True(JsonNode.DeepEquals(bySlug, await GetJsonAsync($"/api/hsds/services/{id}")));

        foreach (var path in new[]
        {
            "/api/hsds/services/nobody", $"/api/hsds/services/{Guid.NewGuid()}", $"/api/hsds/organizations/{Guid.NewGuid()}",
            $"/api/hsds/taxonomies/{Guid.NewGuid()}", $"/api/hsds/taxonomy_terms/{Guid.NewGuid()}", "/api/hsds/programs.csv",
        })
        {
            var response = await Public.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, path);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task Each_organization_taxonomy_and_term_of_a_list_is_found_by_its_id_valid_under_its_schema()
    {
        await SeedAsync();
        foreach (var organization in await AllAsync("/api/hsds/organizations", 2))
        {
            var one = await GetJsonAsync($"/api/hsds/organizations/{organization["id"]}");
            Assert.Empty(HsdsSchemas.ValidateOrganization(one));
            Assert.NotEmpty(one["services"]!.AsArray());
            Assert.Empty(HsdsSchemas.ValidateOrganization(await GetJsonAsync($"/api/hsds/organizations/{organization["id"]}?full_service=true")));
        }

        var taxonomies = await AllAsync("/api/hsds/taxonomies", 1);
        foreach (var taxonomy in taxonomies)
        {
            Assert.Empty(HsdsSchemas.ValidateTaxonomy(await GetJsonAsync($"/api/hsds/taxonomies/{taxonomy["id"]}")));
        }

        var terms = await AllAsync("/api/hsds/taxonomy_terms", 3);
        Assert.Equal(terms.Count, terms.Select(t => (string)t["id"]!).Distinct().Count());
        foreach (var term in terms)
        {
            Assert.True(JsonNode.DeepEquals(term, await GetJsonAsync($"/api/hsds/taxonomy_terms/{term["id"]}")));
            Assert.Contains(taxonomies, t => (string?)t["id"] == (string?)term["taxonomy_id"]);
        }

        // Every term a service's attributes use is published, with the same id.
        var used = (await AllAsync("/api/hsds/services?full=true", 10))
            .SelectMany(s => s["attributes"]!.AsArray().Select(a => (string)a!["taxonomy_term"]!["id"]!));
        Assert.All(used, id => Assert.Contains(terms, t => (string)t["id"]! == id));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public async Task The_pages_of_a_list_hold_each_item_once_with_the_page_numbers_and_flags_the_Page_schema_describes(int perPage)
    {
        await SeedAsync();
        var all = (await GetJsonAsync("/api/hsds/services?per_page=500"))["contents"]!.AsArray().Select(s => (string)s!["id"]!).ToList();
        var pages = (all.Count + perPage - 1) / perPage;
        var seen = new List<string>();
        for (var number = 1; number <= pages; number++)
        {
            var page = await GetJsonAsync($"/api/hsds/services?page={number}&per_page={perPage}");
            Assert.Equal((all.Count, pages, number), ((int)page["total_items"]!, (int)page["total_pages"]!, (int)page["page_number"]!));
            Assert.Equal((number == 1, number == pages, false), ((bool)page["first_page"]!, (bool)page["last_page"]!, (bool)page["empty"]!));
            seen.AddRange(page["contents"]!.AsArray().Select(s => (string)s!["id"]!));
        }

        Assert.Equal(all, seen);
        var beyond = await GetJsonAsync($"/api/hsds/services?page={pages + 1}&per_page={perPage}");
        Assert.Equal((0, true, false), ((int)beyond["size"]!, (bool)beyond["empty"]!, (bool)beyond["first_page"]!));
        Assert.Empty(HsdsSchemas.ValidatePage(beyond, "compiled/service_list"));
    }

    [Fact]
    public async Task The_services_filters_combine_as_the_HSDS_API_says_each_narrowing_the_others()
    {
        await SeedAsync();
        var terms = await AllAsync("/api/hsds/taxonomy_terms", 500);
        string Term(string code) => (string)terms.Single(t => (string?)t["code"] == code)["id"]!;
        var noId = Term("no-id-required");
        var safety = (string)terms.Single(t => (string?)t["code"] == "sex-worker-led")["taxonomy_id"]!;
        var shelter = await GetJsonAsync("/api/hsds/services/shelter");
        var shelterOrganization = (string)shelter["organization"]!["id"]!;

        async Task<string[]> NamesAsync(string query) =>
            [.. (await GetJsonAsync("/api/hsds/services?per_page=500&" + query))["contents"]!.AsArray().Select(s => (string)s!["name"]!).Order()];

        Assert.Equal(["Service shelter"], await NamesAsync($"taxonomy_term_id={Term("housing")}"));
        Assert.Equal(["Service shelter"], await NamesAsync($"organization_id={shelterOrganization}"));
        Assert.Equal(["Service law-centre", "Service swl-clinic"], (await NamesAsync($"taxonomy_term_id={noId}")).Where(n => n.StartsWith("Service ", StringComparison.Ordinal)));
        Assert.Equal(["Service swl-clinic"], await NamesAsync($"taxonomy_term_id={noId}&search=swl"));
        Assert.Empty(await NamesAsync($"taxonomy_term_id={noId}&organization_id={shelterOrganization}"));
        Assert.Contains("Service shelter", await NamesAsync($"taxonomy_id={safety}"));
        Assert.Equal(["Service law-centre"], await NamesAsync("search=SERVICE LAW"));

        var safetyTerms = (await GetJsonAsync($"/api/hsds/taxonomy_terms?per_page=500&taxonomy_id={safety}"))["contents"]!.AsArray();
        Assert.NotEmpty(safetyTerms);
        Assert.All(safetyTerms, t => Assert.Equal(safety, (string?)t!["taxonomy_id"]));
    }

    [Fact]
    public async Task Organizations_and_terms_are_searched_and_filtered_by_the_parameters_their_routes_take()
    {
        await SeedAsync();
        var organizations = (await GetJsonAsync("/api/hsds/organizations?search=provider OF SHELTER"))["contents"]!.AsArray();
        Assert.Equal(["Provider of shelter"], organizations.Select(o => (string)o!["name"]!));

        var all = (int)(await GetJsonAsync("/api/hsds/taxonomy_terms"))["total_items"]!;
        Assert.Equal(all, (int)(await GetJsonAsync("/api/hsds/taxonomy_terms?top_only=true"))["total_items"]!);
        Assert.Equal(0, (int)(await GetJsonAsync($"/api/hsds/taxonomy_terms?parent_id={Guid.NewGuid()}"))["total_items"]!);
        var housing = (await GetJsonAsync("/api/hsds/taxonomy_terms?search=housing"))["contents"]!.AsArray();
        Assert.Equal(["housing"], housing.Select(t => (string)t!["code"]!));
        Assert.Equal(["referral-broker-safety"],
            (await GetJsonAsync("/api/hsds/taxonomies?search=safety"))["contents"]!.AsArray().Select(t => (string)t!["name"]!));
    }

    [Theory]
    [InlineData("/api/hsds/services?per_page=0", "per_page")]
    [InlineData("/api/hsds/services?per_page=501", "per_page")]
    [InlineData("/api/hsds/services?page=0", "page")]
    [InlineData("/api/hsds/services?page=first", "page")]
    [InlineData("/api/hsds/services?full=yes", "full")]
    [InlineData("/api/hsds/services?format=ndjson", "format")]
    [InlineData("/api/hsds/services?modified_after=2026-01-01", "modified_after")]
    [InlineData("/api/hsds/taxonomy_terms?top_only=1", "top_only")]
    [InlineData("/api/hsds/organizations?postcode=10110", "postcode")]
    public async Task A_query_parameter_the_broker_cannot_honour_is_a_400_naming_it_rather_than_a_wider_answer(string path, string parameter)
    {
        var response = await Public.GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal([parameter], Coordinator.ErrorKeys(await response.Content.ReadFromJsonAsync<JsonElement>()));
    }

    [Fact]
    public async Task The_root_names_the_HSDS_version_and_the_OpenAPI_document_that_describes_these_routes()
    {
        var root = await GetJsonAsync("/api/hsds/");
        Assert.Equal("3.0", (string?)root["version"]);
        var openApi = new Uri((string)root["openapi_url"]!);
        Assert.Equal("/openapi/v1.json", openApi.AbsolutePath);
        var document = await GetJsonAsync(openApi.AbsolutePath);
        Assert.NotNull(document["paths"]!["/api/hsds/services"]);
    }

    [Fact]
    public async Task No_HSDS_answer_carries_a_partners_referral_address()
    {
        await SeedAsync();
        var referralAddresses = new[] { "swl-clinic", "law-centre", "shelter" }.Select(ReferralAddress).ToList();
        var answers = new List<(string Path, string Body)>();
        async Task Read(string path) => answers.Add((path, await Public.GetStringAsync(path)));

        foreach (var path in new[]
        {
            "/api/hsds/", "/api/hsds/services?full=true", "/api/hsds/services", "/api/hsds/organizations?full=true&full_service=true",
            "/api/hsds/taxonomies", "/api/hsds/taxonomy_terms", "/api/hsds/datapackage.json",
        })
        {
            await Read(path);
        }

        foreach (var slug in new[] { "swl-clinic", "law-centre", "shelter" })
        {
            await Read($"/api/hsds/services/{slug}");
        }

        foreach (var resource in (await GetJsonAsync("/api/hsds/datapackage.json"))["resources"]!.AsArray())
        {
            await Read($"/api/hsds/{resource!["path"]}");
        }

        using (var zip = new ZipArchive(await Public.GetStreamAsync("/api/hsds/datapackage.zip")))
        {
            foreach (var entry in zip.Entries)
            {
                using var reader = new StreamReader(entry.Open());
                answers.Add(($"datapackage.zip/{entry.FullName}", await reader.ReadToEndAsync()));
            }
        }

        Assert.All(answers, a => Assert.All(referralAddresses, address =>
            Assert.False(a.Body.Contains(address, StringComparison.OrdinalIgnoreCase), $"{a.Path} shows {address}")));
    }

    [Fact]
    public async Task The_descriptor_is_the_specifications_datapackage_json_narrowed_to_our_tables_with_relative_paths()
    {
        var served = await GetJsonAsync("/api/hsds/datapackage.json");
        var specification = JsonNode.Parse(File.ReadAllText(Path.Combine(HsdsSchemas.SpecDirectory, "datapackage.json")))!.AsObject();

        foreach (var (name, value) in specification.Where(p => p.Key != "resources"))
        {
            Assert.True(JsonNode.DeepEquals(value, served[name]), $"{name} differs from the specification's");
        }

        var names = served["resources"]!.AsArray().Select(r => (string)r!["name"]!).ToList();
        Assert.Equal(
            ["organization", "service", "attribute", "service_at_location", "location", "schedule", "service_area", "language", "accessibility", "taxonomy_term", "taxonomy"],
            names);
        var specResources = specification["resources"]!.AsArray().Select(r => r!.AsObject()).ToDictionary(r => (string)r["name"]!);
        foreach (var resource in served["resources"]!.AsArray().Select(r => r!.AsObject()))
        {
            var spec = specResources[(string)resource["name"]!].DeepClone().AsObject();
            // The only change: no foreign key into a table the package leaves out.
            if (spec["schema"]!["foreignKeys"] is JsonArray keys)
            {
                foreach (var key in keys.Where(k => !names.Contains((string)k!["reference"]!["resource"]!)).ToList())
                {
                    keys.Remove(key);
                }
            }

            Assert.True(JsonNode.DeepEquals(spec, resource), $"{resource["name"]} differs from the specification's beyond its foreign keys");
            Assert.DoesNotContain("/", (string)resource["path"]!, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_Data_Package_fetched_as_sibling_URLs_passes_every_check_frictionless_makes()
    {
        await SeedAsync();
        Assert.True((await Coordinator.Client(_app).PostAsync("/api/admin/partners/shelter/pause", null)).IsSuccessStatusCode);
        var descriptorUrl = new Uri(Public.BaseAddress!, "/api/hsds/datapackage.json");
        var descriptor = await GetJsonAsync(descriptorUrl.AbsolutePath);
        var files = new Dictionary<string, string>();
        foreach (var resource in descriptor["resources"]!.AsArray())
        {
            var response = await Public.GetAsync(new Uri(descriptorUrl, (string)resource!["path"]!));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
            files[(string)resource["path"]!] = await response.Content.ReadAsStringAsync();
        }

        Assert.Empty(DataPackageCheck.Errors(descriptor, path => files.GetValueOrDefault(path)));

        // Rows of every table, and the links the specification's foreign keys do not declare (a service's languages,
        // areas, schedules and attributes point at it by service_id and link_id).
        var services = Table(files["services.csv"]);
        Assert.Equal((int)(await GetJsonAsync("/api/hsds/services"))["total_items"]!, services.Count);
        Assert.Contains(services, s => s["status"] == "inactive");
        var serviceIds = services.Select(s => s["id"]).ToHashSet();
        foreach (var (file, link) in new[] { ("languages.csv", "service_id"), ("service_areas.csv", "service_id"), ("schedules.csv", "service_id"), ("service_at_location.csv", "service_id") })
        {
            var rows = Table(files[file]);
            Assert.NotEmpty(rows);
            Assert.All(rows, r => Assert.Contains(r[link], serviceIds));
        }

        var organizationIds = Table(files["organizations.csv"]).Select(o => o["id"]).ToHashSet();
        var attributes = Table(files["attributes.csv"]);
        Assert.All(attributes, a => Assert.Contains(a["link_id"], a["link_entity"] == "service" ? serviceIds : organizationIds));
        Assert.Contains(attributes, a => a["link_entity"] == "organization");
        var locationIds = Table(files["locations.csv"]).Select(l => l["id"]).ToHashSet();
        Assert.NotEmpty(Table(files["accessibility.csv"]));
        Assert.All(Table(files["accessibility.csv"]), a => Assert.Contains(a["location_id"], locationIds));

        var full = await AllAsync("/api/hsds/services?full=true", 500);
        Assert.Equal(full.Sum(s => s["languages"]!.AsArray().Count), Table(files["languages.csv"]).Count);
        Assert.Equal(full.Sum(s => s["attributes"]!.AsArray().Count), attributes.Count(a => a["link_entity"] == "service"));
        Assert.Equal(Table(files["taxonomy_terms.csv"]).Count, (int)(await GetJsonAsync("/api/hsds/taxonomy_terms"))["total_items"]!);
    }

    [Fact]
    public async Task The_zip_holds_the_descriptor_and_the_same_CSVs_as_their_own_routes()
    {
        await SeedAsync();
        using var zip = new ZipArchive(await Public.GetStreamAsync("/api/hsds/datapackage.zip"));
        var entries = zip.Entries.ToDictionary(e => e.FullName, e =>
        {
            using var reader = new StreamReader(e.Open(), Encoding.UTF8);
            return reader.ReadToEnd();
        });

        var descriptor = JsonNode.Parse(entries["datapackage.json"])!.AsObject();
        Assert.True(JsonNode.DeepEquals(await GetJsonAsync("/api/hsds/datapackage.json"), descriptor));
        var paths = descriptor["resources"]!.AsArray().Select(r => (string)r!["path"]!).ToList();
        Assert.Equal(paths.Append("datapackage.json").Order(), entries.Keys.Order());
        foreach (var path in paths)
        {
            Assert.Equal(await Public.GetStringAsync($"/api/hsds/{path}"), entries[path]);
        }

        Assert.Empty(DataPackageCheck.Errors(descriptor, path => entries.GetValueOrDefault(path)));
    }

    [Fact]
    public async Task A_cell_that_a_spreadsheet_would_run_as_a_formula_is_neutralised_in_the_CSVs()
    {
        var service = Coordinator.Service("formula-clinic");
        service["description"] = "Walk in;=HYPERLINK(\"http://x.example\")";
        await Put(service);

        var csv = await Public.GetStringAsync("/api/hsds/services.csv");
        var row = Table(csv).Single(s => s["name"] == "Service formula-clinic");
        Assert.Equal("Walk in;'=HYPERLINK(\"http://x.example\")", row["description"]);
    }

    [Fact]
    public async Task The_whole_directory_read_through_the_HSDS_pages_imports_into_a_fresh_broker_as_the_same_partners_with_the_same_ids()
    {
        // Only the partners put here (no demo network): each has a public email, which is all an HSDS reader gets.
        var noDemo = new Dictionary<string, string?> { ["Broker:Demo:Enabled"] = "false" };
        using var source = Coordinator.App(noDemo);
        var partners = new[]
        {
            Coordinator.Service("swl-clinic", ["health", "counselling"], ["th", "en"], ["sex-worker-led", "no-id-required"]),
            Coordinator.Service("law-centre", ["legal", "employment"], ["pt-BR", "es"], ["no-sharing-with-police-or-immigration-unless-compelled"]),
            Coordinator.Service("shelter", ["housing"], ["ro"], ["confidential-address"]),
        };
        foreach (var partner in partners)
        {
            Assert.True((await Coordinator.PutPartnerAsync(source, partner, ReferralAddress(Coordinator.SlugOf(partner)))).IsSuccessStatusCode);
        }

        async Task<List<JsonObject>> ReadAsync(BrokerApp app)
        {
            var items = new List<JsonObject>();
            for (var page = 1; ; page++)
            {
                var answer = JsonNode.Parse(await app.CreateClient().GetStringAsync($"/api/hsds/services?full=true&per_page=2&page={page}"))!;
                Assert.Empty(HsdsSchemas.ValidatePage(answer, "compiled/service"));
                items.AddRange(answer["contents"]!.AsArray().Select(s => s!.AsObject()));
                if ((bool)answer["last_page"]!)
                {
                    return items;
                }
            }
        }

        var exported = await ReadAsync(source);
        Assert.Equal(3, exported.Count);

        using var fresh = Coordinator.App(noDemo);
        var body = new JsonObject { ["hsds_version"] = "3.0", ["services"] = new JsonArray([.. exported.Select(s => (JsonNode)s.DeepClone())]) };
        var imported = await Coordinator.Client(fresh).PostAsJsonAsync("/api/admin/directory", body);
        Assert.True(imported.StatusCode == HttpStatusCode.OK, await imported.Content.ReadAsStringAsync());

        // The same services, ids and nested ids included, and the same partners under the same slugs.
        var again = await ReadAsync(fresh);
        Assert.Equal(exported.Count, again.Count);
        foreach (var (before, after) in exported.Zip(again))
        {
            Assert.True(JsonNode.DeepEquals(before, after), $"{before["name"]} changed on the way:\n{before.ToJsonString()}\n{after.ToJsonString()}");
        }

        Assert.Equal(Coordinator.Ids(await Coordinator.PartnersAsync(source)), Coordinator.Ids(await Coordinator.PartnersAsync(fresh)));
        Assert.Equal(await source.CreateClient().GetStringAsync("/api/hsds/taxonomy_terms?per_page=500"),
            await fresh.CreateClient().GetStringAsync("/api/hsds/taxonomy_terms?per_page=500"));
        // What HSDS does not carry: the referral address. The fresh broker sends referrals to the public email.
        var admin = await Coordinator.Client(fresh).GetFromJsonAsync<JsonNode>("/api/admin/directory");
        Assert.Equal("intake@shelter.example.org", (string?)admin!["referral_emails"]![(string)exported.Single(s => (string)s["name"]! == "Service shelter")["id"]!]);
    }

    /// <summary>A CSV as rows of named cells, read by the checker's own parser.</summary>
    private static List<Dictionary<string, string>> Table(string csv)
    {
        var rows = DataPackageCheck.Parse(csv, out var error) ?? throw new InvalidOperationException(error);
        return [.. rows.Skip(1).Select(r => rows[0].Zip(r).ToDictionary(p => p.First, p => p.Second))];
    }
}
