using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace ReferralBroker.Tests.Integration;

/// <summary>The public directory's filters, categories beyond the built-in three, and import/export.</summary>
public sealed class DirectoryTests : IDisposable
{
    private readonly BrokerApp _app = Coordinator.App(runDispatcher: false);

    public void Dispose() => _app.Dispose();

    private async Task SeedAsync()
    {
        await Coordinator.PutPartnerAsync(_app, Coordinator.Service("swl-clinic", ["health"], ["th", "en"], ["sex-worker-led", "no-id-required"]));
        await Coordinator.PutPartnerAsync(_app, Coordinator.Service("law-centre", ["legal", "employment"], ["pt-BR", "es"],
            ["no-sharing-with-police-or-immigration-unless-compelled", "no-id-required"]));
        await Coordinator.PutPartnerAsync(_app, Coordinator.Service("shelter", ["housing"], ["ro"], ["confidential-address", "sex-worker-friendly"]));
    }

    [Theory]
    [InlineData("?category=health", "demo-health,swl-clinic")]
    [InlineData("?category=housing", "shelter")]
    [InlineData("?category=employment&language=es", "law-centre")]
    [InlineData("?language=pt", "demo-legal,law-centre")]
    [InlineData("?language=PT-br", "law-centre")]
    [InlineData("?attribute=no-id-required", "demo-employment,demo-health,law-centre,swl-clinic")]
    [InlineData("?attribute=no-id-required&attribute=sex-worker-led", "demo-employment,swl-clinic")]
    [InlineData("?category=legal&attribute=no-sharing-with-police-or-immigration-unless-compelled", "demo-legal,law-centre")]
    [InlineData("?category=legal&attribute=confidential-address", "")]
    [InlineData("", "demo-employment,demo-health,demo-legal,law-centre,shelter,swl-clinic")]
    public async Task The_directory_filters_by_category_language_and_every_attribute_asked_for(string query, string expected)
    {
        await SeedAsync();
        var partners = await Coordinator.PartnersAsync(_app, query);
        Assert.Equal(expected.Split(',', StringSplitOptions.RemoveEmptyEntries), Coordinator.Ids(partners));
    }

    [Fact]
    public void A_configured_partner_with_an_attribute_outside_the_taxonomy_stops_the_broker_from_starting()
    {
        var failure = Coordinator.StartupFailure(new Dictionary<string, string?>
        {
            ["Broker:Partners:0:Id"] = "clinic-z",
            ["Broker:Partners:0:Name"] = "Clinic Z",
            ["Broker:Partners:0:Email"] = "intake@z.example",
            ["Broker:Partners:0:Categories:0"] = "health",
            ["Broker:Partners:0:Attributes:0"] = "friendly",
        });
        Assert.Contains("clinic-z", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_attribute_filter_is_refused_with_400()
    {
        var response = await _app.CreateClient().GetAsync("/api/partners?attribute=friendly");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["attribute"], Coordinator.ErrorKeys(await response.Content.ReadFromJsonAsync<JsonElement>()));
    }

    [Fact]
    public async Task A_referral_in_a_new_category_is_accepted_and_delivered_to_its_partner()
    {
        await SeedAsync();
        var submitted = await _app.SubmitAsync(BrokerApp.Referral(partnerId: "shelter", category: "housing"));
        await _app.DispatchAsync();

        var email = Assert.Single(_app.Outbox());
        Assert.Contains("To: <intake@shelter.example.org>", email, StringComparison.Ordinal);
        Assert.Equal(submitted.ReferralId, BrokerApp.LinkIn(email).ReferralId);
        var view = await _app.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{submitted.ReferralId}");
        Assert.Equal("housing", view.GetProperty("category").GetString());
        Assert.Equal("delivered", view.GetProperty("status").GetString());

        // The client's page has no translation for a category added later: it shows the word, not a resource key.
        var page = await _app.CreateClient().PostAsync("/status?lang=th", new FormUrlEncodedContent([new("token", submitted.StatusToken)]));
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<dd>housing</dd>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("Category_", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_directory_exported_as_HSDS_JSON_imports_into_another_broker_unchanged()
    {
        await SeedAsync();
        var exported = await Coordinator.Client(_app).GetStringAsync("/api/admin/directory");
        var document = JsonDocument.Parse(exported).RootElement;
        Assert.Equal("3.0", document.GetProperty("hsds_version").GetString());
        var shelter = document.GetProperty("services").EnumerateArray().Single(s => Coordinator.SlugOf(System.Text.Json.Nodes.JsonNode.Parse(s.GetRawText())!) == "shelter");
        Assert.Equal("Provider of shelter", shelter.GetProperty("organization").GetProperty("name").GetString());
        Assert.Equal("Bangkok", shelter.GetProperty("service_areas")[0].GetProperty("name").GetString());
        Assert.Equal("confidential-address", shelter.GetProperty("attributes")[2].GetProperty("taxonomy_term").GetProperty("code").GetString());
        Assert.Equal("intake@shelter.example.org", document.GetProperty("referral_emails").GetProperty(shelter.GetProperty("id").GetString()!).GetString());

        using var other = Coordinator.App();
        var imported = await Coordinator.Client(other).PostAsync("/api/admin/directory", new StringContent(exported, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, imported.StatusCode);
        var result = await imported.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(3, result.GetProperty("created").GetInt32());
        Assert.Equal(3, result.GetProperty("updated").GetInt32());

        Assert.Equal(exported, await Coordinator.Client(other).GetStringAsync("/api/admin/directory"));
    }

    [Fact]
    public async Task The_directory_exported_as_CSV_imports_into_another_broker_unchanged()
    {
        await SeedAsync();
        var csvResponse = await Coordinator.Client(_app).GetAsync("/api/admin/directory.csv");
        Assert.Equal("text/csv", csvResponse.Content.Headers.ContentType?.MediaType);
        var csv = await csvResponse.Content.ReadAsStringAsync();
        Assert.StartsWith("id,name,description,referral_email,email,status,organization_id,organization_name,categories,attributes,languages,service_areas,hours,accessibility\r\n", csv, StringComparison.Ordinal);
        Assert.Contains("\"Bangkok;Pattaya, Chonburi\"", csv, StringComparison.Ordinal);
        Assert.Contains("\"Step-free entrance, \"\"quiet\"\" room\"", csv, StringComparison.Ordinal);

        using var other = Coordinator.App();
        var imported = await Coordinator.Client(other).PostAsync("/api/admin/directory.csv", new StringContent(csv, Encoding.UTF8, "text/csv"));
        Assert.Equal(HttpStatusCode.OK, imported.StatusCode);

        // The CSV carries no HSDS ids: the other broker minted its own, and has the same partners.
        Assert.Equal(await _app.CreateClient().GetStringAsync("/api/partners"), await other.CreateClient().GetStringAsync("/api/partners"));
        Assert.Equal(csv, await Coordinator.Client(other).GetStringAsync("/api/admin/directory.csv"));
    }

    [Fact]
    public async Task An_import_with_one_bad_entry_changes_nothing_and_names_the_entry()
    {
        var good = Coordinator.Service("clinic-x");
        var bad = Coordinator.Service("clinic-y");
        bad["email"] = null;
        var body = new System.Text.Json.Nodes.JsonObject
        {
            ["hsds_version"] = "3.0",
            ["services"] = new System.Text.Json.Nodes.JsonArray(good, bad),
        };

        var response = await Coordinator.Client(_app).PostAsJsonAsync("/api/admin/directory", body);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal(["services[1].email"], Coordinator.ErrorKeys(await response.Content.ReadFromJsonAsync<JsonElement>()));
        Assert.DoesNotContain("clinic-x", Coordinator.Ids(await Coordinator.PartnersAsync(_app)));
    }

    [Theory]
    [InlineData("id,name\r\nx,y\r\n")]
    [InlineData("id,name,description,email,status,organization_id,organization_name,categories,attributes,languages,service_areas,hours,accessibility\r\nx,\"unclosed\r\n")]
    [InlineData("id,name,description,email,status,organization_id,organization_name,categories,attributes,languages,service_areas,hours,accessibility\r\nx,y\r\n")]
    public async Task A_CSV_import_that_is_not_the_export_format_is_refused_with_400(string csv)
    {
        var response = await Coordinator.Client(_app).PostAsync("/api/admin/directory.csv", new StringContent(csv, Encoding.UTF8, "text/csv"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
