using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using ReferralBroker.Partners;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Tests.Hsds;

/// <summary>
/// HSDS 3.0 in: a record valid under HSDS is accepted, the HSDS fields the broker does not use are dropped rather than
/// refused, and only what breaks HSDS (or the broker's rules) is refused, naming the field by its JSON path.
/// </summary>
public sealed class HsdsImportTests : IDisposable
{
    private readonly BrokerApp _app = Coordinator.App(runDispatcher: false);

    public void Dispose() => _app.Dispose();

    /// <summary>The specification's own full example, given a referral-broker-category term (the one thing the broker requires beyond HSDS).</summary>
    private static JsonObject ServiceFull()
    {
        var service = JsonNode.Parse(File.ReadAllText(Path.Combine(HsdsSchemas.SpecDirectory, "examples", "service_full.json")))!.AsObject();
        service["attributes"]!.AsArray().Add(new JsonObject
        {
            ["id"] = "0f5a3e2c-7b1d-4c8e-9a6f-2d3b4c5e6f70",
            ["taxonomy_term"] = new JsonObject
            {
                ["id"] = HsdsMapping.CategoryTerm(ReferralBroker.Lifecycle.ServiceCategory.Health).Id,
                ["name"] = "health", ["description"] = "Health", ["taxonomy"] = "referral-broker-category", ["code"] = "health",
            },
        });
        return service;
    }

    private async Task<HttpResponseMessage> ImportAsync(JsonNode directory) =>
        await Coordinator.Client(_app).PostAsJsonAsync("/api/admin/directory", directory);

    private static async Task<string[]> ErrorKeysAsync(HttpResponseMessage response) =>
        [.. Coordinator.ErrorKeys(await response.Content.ReadFromJsonAsync<JsonElement>())];

    [Fact]
    public async Task The_specifications_full_service_example_with_a_category_term_imports_with_its_ids()
    {
        var full = ServiceFull();
        Assert.Empty(HsdsSchemas.ValidateService(full));
        Assert.True(full.ToJsonString().Length > 16 * 1024); // beyond the referral API's body limit

        var response = await ImportAsync(new JsonObject { ["services"] = new JsonArray(full.DeepClone()) });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // No slug given: the partner's id is the service's UUID; its referral address is the service's email.
        var partner = (await Coordinator.Client(_app).GetFromJsonAsync<JsonNode>("/api/admin/partners/ac148810-d857-441c-9679-408f346de14b"))!;
        Assert.Equal("email@example.com", partner["referralEmail"]!.GetValue<string>());
        var service = partner["service"]!;
        Assert.Empty(HsdsSchemas.ValidateService(service));
        Assert.Equal("ac148810-d857-441c-9679-408f346de14b", service["id"]!.GetValue<string>());
        Assert.Equal("Community Counselling", service["name"]!.GetValue<string>());
        Assert.Equal(full["organization"]!["id"]!.GetValue<string>(), service["organization"]!["id"]!.GetValue<string>());
        Assert.Equal("Example Organization Inc.", service["organization"]!["name"]!.GetValue<string>());
        Assert.Equal(full["languages"]![0]!["id"]!.GetValue<string>(), service["languages"]![0]!["id"]!.GetValue<string>());
        Assert.Equal(full["service_areas"]![0]!["id"]!.GetValue<string>(), service["service_areas"]![0]!["id"]!.GetValue<string>());
        Assert.Equal(full["schedules"]![0]!["description"]!.GetValue<string>(), service["schedules"]![0]!["description"]!.GetValue<string>());
        var accessibility = full["service_at_locations"]![0]!["location"]!["accessibility"]![0]!;
        var kept = service["service_at_locations"]![0]!["location"]!["accessibility"]![0]!;
        Assert.Equal(accessibility["id"]!.GetValue<string>(), kept["id"]!.GetValue<string>());
        Assert.Equal(accessibility["description"]!.GetValue<string>(), kept["description"]!.GetValue<string>());
        // The example's own attribute is of a taxonomy the broker does not use: accepted and dropped.
        Assert.DoesNotContain(service["attributes"]!.AsArray(), a => a!["taxonomy_term"]!["taxonomy"]!.GetValue<string>() == "taxonomy");

        var put = await Coordinator.Client(_app).PutAsJsonAsync("/api/admin/partners/counselling",
            new JsonObject { ["referralEmail"] = "intake@counselling.example", ["service"] = ServiceFull().Let(s => s.Remove("id")) });
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    [Fact]
    public async Task The_coordinators_backup_imports_into_a_fresh_broker_as_the_same_directory()
    {
        await Coordinator.PutPartnerAsync(_app, Coordinator.Service("swl-clinic", ["health", "housing"], ["th", "en"], ["sex-worker-led"]),
            referralEmail: "private@swl.example.org");
        var backup = (await Coordinator.Client(_app).GetFromJsonAsync<JsonNode>("/api/admin/directory"))!;

        using var fresh = Coordinator.App();
        var response = await Coordinator.Client(fresh).PostAsJsonAsync("/api/admin/directory", backup);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var restored = (await Coordinator.Client(fresh).GetFromJsonAsync<JsonNode>("/api/admin/directory"))!;
        Assert.Equal(backup.ToJsonString(), restored.ToJsonString());
    }

    [Fact]
    public async Task HSDS_fields_the_broker_does_not_use_are_accepted_and_a_field_HSDS_does_not_define_is_refused_by_path()
    {
        var service = Coordinator.Service("clinic-t");
        service["alternate_name"] = "Clinic T";
        service["minimum_age"] = 18;
        service["phones"] = new JsonArray(new JsonObject { ["id"] = "1554f2e2-a373-45db-a3fa-9fc48a61c15e", ["number"] = "+66 2 123 4567" });
        service["languages"]![0]!["name"] = "English";
        service["organization"]!["website"] = "https://clinic-t.example";
        Assert.Equal(HttpStatusCode.Created, (await Coordinator.PutPartnerAsync(_app, service)).StatusCode);

        service["languages"]![0]!["flag"] = "gb";
        service["organization"]!["mission"] = "x";
        service["shoe_size"] = 42;
        var refused = await ImportAsync(new JsonObject { ["services"] = new JsonArray(service.DeepClone()) });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Equal(["services[0].languages[0].flag", "services[0].organization.mission", "services[0].shoe_size"], (await ErrorKeysAsync(refused)).Order());
    }

    [Theory]
    [InlineData("id", "\"clinic-t\"", "services[0].id")]
    [InlineData("status", "\"open\"", "services[0].status")]
    [InlineData("languages", "[{\"id\": \"en\", \"code\": \"en\"}]", "services[0].languages[0].id")]
    [InlineData("service_at_locations", "[{\"location\": {\"location_type\": \"home\"}}]", "services[0].service_at_locations[0].location.location_type")]
    [InlineData("email", "\"not an address\"", "services[0].email")]
    [InlineData("attributes", "[{\"taxonomy_term\": {\"taxonomy\": \"referral-broker-safety\", \"code\": \"friendly\"}}]", "services[0].attributes[0].taxonomy_term.code")]
    // A term's code is unique across the Data Package's taxonomy_terms.csv: a category cannot take another taxonomy's code.
    [InlineData("attributes", "[{\"taxonomy_term\": {\"taxonomy\": \"referral-broker-category\", \"code\": \"no-id-required\"}}]", "services[0].attributes[0].taxonomy_term.code")]
    [InlineData("attributes", "[{\"taxonomy_term\": {\"taxonomy\": \"referral-broker-category\", \"code\": \"slug\"}}]", "services[0].attributes[0].taxonomy_term.code")]
    public async Task What_breaks_HSDS_or_the_brokers_rules_is_a_422_naming_the_field(string field, string json, string path)
    {
        var service = Coordinator.Service("clinic-t");
        service[field] = JsonNode.Parse(json);

        var response = await ImportAsync(new JsonObject { ["services"] = new JsonArray(service) });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains(path, await ErrorKeysAsync(response));
        Assert.DoesNotContain("clinic-t", Coordinator.Ids(await Coordinator.PartnersAsync(_app)));
    }

    [Fact]
    public async Task A_wrong_type_is_refused_naming_the_field_and_a_service_id_of_another_partner_is_refused()
    {
        var service = Coordinator.Service("clinic-t");
        service["name"] = 5;
        var wrongType = await ImportAsync(new JsonObject { ["services"] = new JsonArray(service) });
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        Assert.Equal(["services[0].name"], await ErrorKeysAsync(wrongType));

        await Coordinator.PutPartnerAsync(_app, Coordinator.Service("clinic-a"));
        var taken = (await Coordinator.Client(_app).GetFromJsonAsync<JsonNode>("/api/admin/partners/clinic-a"))!["service"]!["id"]!.GetValue<string>();
        var thief = Coordinator.Service("clinic-b");
        thief["id"] = taken;
        var response = await Coordinator.PutPartnerAsync(_app, thief);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal(["service.id"], await ErrorKeysAsync(response));
    }

    [Fact]
    public async Task A_partner_read_back_from_the_public_HSDS_view_keeps_its_private_referral_address()
    {
        await Coordinator.PutPartnerAsync(_app, Coordinator.Service("clinic-k", email: "hello@clinic-k.example"),
            referralEmail: "private@clinic-k.example");
        var published = (await Coordinator.Client(_app).GetFromJsonAsync<JsonNode>("/api/hsds/services/clinic-k"))!;

        // The public record carries only the public email; importing it back (as the README's read-back does) or
        // saving it without a referralEmail must not make the public inbox where referral links go.
        var imported = await ImportAsync(new JsonObject { ["services"] = new JsonArray(published.DeepClone()) });
        Assert.Equal(HttpStatusCode.OK, imported.StatusCode);
        var put = await Coordinator.Client(_app).PutAsJsonAsync("/api/admin/partners/clinic-k", new JsonObject { ["service"] = published.DeepClone() });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        var partner = (await Coordinator.Client(_app).GetFromJsonAsync<JsonNode>("/api/admin/partners/clinic-k"))!;
        Assert.Equal("private@clinic-k.example", partner["referralEmail"]!.GetValue<string>());
        Assert.Equal("hello@clinic-k.example", partner["service"]!["email"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_null_referral_address_in_a_backup_is_refused_by_its_service_id_and_changes_nothing()
    {
        const string Id = "5a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
        var service = Coordinator.Service("clinic-n", email: "hello@clinic-n.example");
        service["id"] = Id;

        var refused = await ImportAsync(new JsonObject
        {
            ["services"] = new JsonArray(service.DeepClone()), ["referral_emails"] = new JsonObject { [Id] = null },
        });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Equal([$"referral_emails.{Id}"], await ErrorKeysAsync(refused));
        Assert.DoesNotContain("clinic-n", Coordinator.Ids(await Coordinator.PartnersAsync(_app)));
    }

    [Fact]
    public async Task A_backups_referral_address_is_taken_from_beside_the_service_and_a_bad_one_is_named_by_the_service_id()
    {
        const string Id = "3f0c1b2a-4d5e-4f60-8a7b-9c0d1e2f3a4b";
        var service = Coordinator.Service("clinic-r", email: "hello@clinic-r.example");
        service["id"] = Id;

        var refused = await ImportAsync(new JsonObject
        {
            ["services"] = new JsonArray(service.DeepClone()), ["referral_emails"] = new JsonObject { [Id] = "not an address" },
        });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Equal([$"referral_emails.{Id}"], await ErrorKeysAsync(refused));

        var imported = await ImportAsync(new JsonObject
        {
            ["services"] = new JsonArray(service.DeepClone()), ["referral_emails"] = new JsonObject { [Id] = "private@clinic-r.example" },
        });
        Assert.Equal(HttpStatusCode.OK, imported.StatusCode);
        var partner = (await Coordinator.Client(_app).GetFromJsonAsync<JsonNode>("/api/admin/partners/clinic-r"))!;
        Assert.Equal("private@clinic-r.example", partner["referralEmail"]!.GetValue<string>());
        Assert.Equal("hello@clinic-r.example", partner["service"]!["email"]!.GetValue<string>());
        Assert.Equal(Id, partner["service"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public void The_HSDS_fields_the_importer_accepts_are_exactly_those_of_the_vendored_schemas()
    {
        foreach (var (name, fields) in HsdsFields.ByObject)
        {
            var schema = JsonNode.Parse(File.ReadAllText(Path.Combine(HsdsSchemas.SpecDirectory, "schema", name + ".json")))!;
            Assert.Equal(schema["properties"]!.AsObject().Select(p => p.Key).Order(), fields.Order());
        }
    }
}

internal static class JsonObjectExtensions
{
    public static JsonObject Let(this JsonObject node, Action<JsonObject> change)
    {
        change(node);
        return node;
    }
}
