using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ReferralBroker.Referrals;

namespace ReferralBroker.Tests.Integration;

public sealed class AdminApiTests : IDisposable
{
    private readonly BrokerApp _app = Coordinator.App();

    public void Dispose() => _app.Dispose();

    public static TheoryData<string, string> AdminRoutes => new()
    {
        { "GET", "/api/admin/organisations" },
        { "PUT", "/api/admin/organisations/new-org" },
        { "POST", "/api/admin/organisations/demo-org/key" },
        { "DELETE", "/api/admin/organisations/demo-org/key" },
        { "POST", "/api/admin/organisations/demo-org/deactivate" },
        { "POST", "/api/admin/organisations/demo-org/activate" },
        { "GET", "/api/admin/partners" },
        { "GET", "/api/admin/partners/demo-health" },
        { "PUT", "/api/admin/partners/demo-health" },
        { "POST", "/api/admin/partners/demo-health/pause" },
        { "POST", "/api/admin/partners/demo-health/resume" },
        { "DELETE", "/api/admin/partners/demo-health" },
        { "GET", "/api/admin/flags" },
        { "GET", "/api/admin/directory" },
        { "GET", "/api/admin/directory.csv" },
        { "POST", "/api/admin/directory" },
        { "POST", "/api/admin/directory.csv" },
    };

    [Theory]
    [MemberData(nameof(AdminRoutes))]
    public async Task Admin_routes_answer_401_without_a_key_and_403_to_an_organisation_key(string method, string path)
    {
        var anonymous = await _app.CreateClient().SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = Empty() });
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType?.MediaType);

        var wrong = await Coordinator.Client(_app, "not-a-key").SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = Empty() });
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);

        var organisation = await _app.Organisation().SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = Empty() });
        Assert.Equal(HttpStatusCode.Forbidden, organisation.StatusCode);
        Assert.Equal("application/problem+json", organisation.Content.Headers.ContentType?.MediaType);

        // Nothing was changed by the refused calls.
        Assert.DoesNotContain((await Coordinator.PartnersAsync(_app)).EnumerateArray(), p => p.GetProperty("paused").GetBoolean());
    }

    [Fact]
    public async Task Without_a_configured_coordinator_key_the_admin_API_admits_nobody()
    {
        using var app = new BrokerApp();
        var response = await Coordinator.Client(app).GetAsync("/api/admin/organisations");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task The_coordinator_key_is_not_an_organisation_key()
    {
        var response = await Coordinator.Client(_app).PostAsJsonAsync("/api/referrals", BrokerApp.Referral());
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task A_new_organisation_gets_a_key_shown_once_that_works_and_rotation_kills_the_old_one()
    {
        var created = await Coordinator.Client(_app).PutAsJsonAsync("/api/admin/organisations/drop-in-north",
            new { name = "Drop-in North", notifications = new { email = "staff@drop-in-north.example" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var view = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(view.GetProperty("hasApiKey").GetBoolean());

        var first = await Coordinator.IssueKeyAsync(_app, "drop-in-north");
        Assert.StartsWith("rbk_", first, StringComparison.Ordinal);
        Assert.True(first.Length >= 40);
        var submitted = await _app.SubmitAsync(organisation: _app.Organisation(first));

        var second = await Coordinator.IssueKeyAsync(_app, "drop-in-north");
        Assert.NotEqual(first, second);
        var withOld = await _app.Organisation(first).GetAsync($"/api/referrals/{submitted.ReferralId}");
        Assert.Equal(HttpStatusCode.Unauthorized, withOld.StatusCode);
        var withNew = await _app.Organisation(second).GetAsync($"/api/referrals/{submitted.ReferralId}");
        Assert.Equal(HttpStatusCode.OK, withNew.StatusCode);

        // Other organisations' referrals stay invisible to it.
        var demo = await _app.SubmitAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await _app.Organisation(second).GetAsync($"/api/referrals/{demo.ReferralId}")).StatusCode);

        var listed = (await Coordinator.Client(_app).GetFromJsonAsync<JsonElement>("/api/admin/organisations"))
            .EnumerateArray().Single(o => o.GetProperty("id").GetString() == "drop-in-north");
        Assert.True(listed.GetProperty("hasApiKey").GetBoolean());
        Assert.True(listed.TryGetProperty("keyIssuedAt", out _));

        // Only hashes are kept and nothing logs a key.
        var database = await _app.DatabaseBytesAsync();
        Assert.True(Contains(database, ApiKeys.Hash(second)));
        Assert.False(Contains(database, second));
        Assert.False(Contains(database, first));
        Assert.DoesNotContain(_app.Logs, line => line.Contains(first, StringComparison.Ordinal) || line.Contains(second, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_webhook_secret_is_stored_sealed_never_shown_and_kept_when_an_update_leaves_it_out()
    {
        const string Secret = "whsec_U0VDUkVULTAxMjM0NTY3ODlhYmNkZWYtMDEyMzQ1Njc4OWFi";
        var client = Coordinator.Client(_app);
        var set = await client.PutAsJsonAsync("/api/admin/organisations/demo-org", new
        {
            name = "Demo outreach organisation",
            notifications = new { email = "alerts@demo.example", webhookUrl = "https://hooks.demo.example/referrals", webhookSecret = Secret },
        });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        var text = await set.Content.ReadAsStringAsync();
        Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
        Assert.True(JsonDocument.Parse(text).RootElement.GetProperty("notifications").GetProperty("webhookSecretSet").GetBoolean());

        var renamed = await client.PutAsJsonAsync("/api/admin/organisations/demo-org", new
        {
            name = "Demo outreach, renamed",
            notifications = new { email = "alerts@demo.example", webhookUrl = "https://hooks.demo.example/referrals" },
        });
        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);

        var directory = _app.Services.GetService(typeof(INetworkDirectory)) as INetworkDirectory;
        var organisation = directory!.FindOrganisation("demo-org")!;
        Assert.Equal("Demo outreach, renamed", organisation.Name);
        Assert.Equal(Secret, organisation.Notifications.WebhookSecret);
        Assert.Equal(new Uri("https://hooks.demo.example/referrals"), organisation.Notifications.WebhookUrl);

        // The existing key survives an update.
        Assert.Equal(HttpStatusCode.Created, (await _app.Organisation().PostAsJsonAsync("/api/referrals", BrokerApp.Referral())).StatusCode);

        var listed = await client.GetStringAsync("/api/admin/organisations");
        Assert.DoesNotContain(Secret, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(_app.Logs, line => line.Contains(Secret, StringComparison.Ordinal));
        Assert.False(Contains(await _app.DatabaseBytesAsync(), Secret), "The webhook secret is in the database in clear.");
    }

    [Theory]
    [InlineData("""{"name":"Org","notifications":{"email":"not an address"}}""", "notifications.email")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"http://hooks.example/x","webhookSecret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}""", "notifications.webhookUrl")]
    // Plain http even to loopback only where Notifications:AllowLoopbackHttpWebhooks says so: the deliverer would skip it.
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"http://127.0.0.1:9/x","webhookSecret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}""", "notifications.webhookUrl")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://user:pw@hooks.example/x","webhookSecret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}""", "notifications.webhookUrl")]
    // Webhooks cannot reach inside: loopback, private, link-local (cloud metadata), unique-local, CGNAT, IPv4-mapped,
    // decimal spellings and local names are refused when saved.
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://127.0.0.1/x","webhookSecret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}""", "notifications.webhookUrl")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://localhost:8443/x","webhookSecret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}""", "notifications.webhookUrl")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://10.1.2.3/x","webhookSecret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}""", "notifications.webhookUrl")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://172.20.0.5/x","webhookSecret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}""", "notifications.webhookUrl")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://192.168.0.1/x","webhookSecret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}""", "notifications.webhookUrl")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://169.254.169.254/latest/meta-data","webhookSecret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}""", "notifications.webhookUrl")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://100.64.0.1/x","webhookSecret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}""", "notifications.webhookUrl")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://[fd00::1]/x","webhookSecret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}""", "notifications.webhookUrl")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://[fe80::1]/x","webhookSecret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}""", "notifications.webhookUrl")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://[::ffff:10.0.0.1]/x","webhookSecret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}""", "notifications.webhookUrl")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://2130706433/x","webhookSecret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}""", "notifications.webhookUrl")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://[ff02::1]/x","webhookSecret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}""", "notifications.webhookUrl")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://0.0.0.0/x","webhookSecret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}""", "notifications.webhookUrl")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://hooks.example.org:0/x","webhookSecret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}""", "notifications.webhookUrl")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://192.88.99.1/x","webhookSecret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}""", "notifications.webhookUrl")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://hooks.example/x"}}""", "notifications.webhookSecret")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://hooks.example/x","webhookSecret":"short"}}""", "notifications.webhookSecret")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://hooks.example/x","webhookSecret":"whsec-0123456789abcdef-SECRET"}}""", "notifications.webhookSecret")]
    [InlineData("""{"name":"Org","notifications":{"webhookUrl":"https://hooks.example/x","webhookSecret":"whsec_ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo="}}""", "notifications.webhookSecret")]
    [InlineData("""{"name":""}""", "name")]
    [InlineData("""{"name":"Org"}""", "id", "Some_Org")]
    public async Task Invalid_organisation_settings_are_refused_with_422_naming_the_field(string body, string field, string id = "some-org")
    {
        var response = await Coordinator.Client(_app).PutAsync($"/api/admin/organisations/{id}", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains(field, Coordinator.ErrorKeys(await response.Content.ReadFromJsonAsync<JsonElement>()));
        Assert.Equal(HttpStatusCode.NotFound, (await Coordinator.Client(_app).PostAsync("/api/admin/organisations/some-org/key", null)).StatusCode);
    }

    [Fact]
    public async Task A_generated_webhook_secret_is_shown_once_sealed_in_storage_and_replaces_the_old_one_with_an_overlap()
    {
        var client = Coordinator.Client(_app);
        const string First = "whsec_U0VDUkVULTAxMjM0NTY3ODlhYmNkZWYtMDEyMzQ1Njc4OWFi";
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync("/api/admin/organisations/demo-org", new
        {
            name = "Demo outreach organisation",
            notifications = new { webhookUrl = "https://hooks.demo.example/referrals", webhookSecret = First },
        })).StatusCode);

        var generated = await client.PostAsync("/api/admin/organisations/demo-org/webhook-secret", null);
        Assert.Equal(HttpStatusCode.Created, generated.StatusCode);
        var body = await generated.Content.ReadFromJsonAsync<JsonElement>();
        var secret = body.GetProperty("webhookSecret").GetString()!;
        Assert.True(WebhookSecrets.IsValid(secret));
        Assert.Equal(32, WebhookSecrets.Key(secret)!.Length);
        // The default overlap: a day in which deliveries carry both signatures.
        Assert.Equal(_app.Time.GetUtcNow().AddHours(24), body.GetProperty("previousSecretUntil").GetDateTimeOffset());

        var listed = await client.GetStringAsync("/api/admin/organisations");
        Assert.DoesNotContain(secret, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(First, listed, StringComparison.Ordinal);
        var view = JsonDocument.Parse(listed).RootElement.EnumerateArray().Single(o => o.GetProperty("id").GetString() == "demo-org").GetProperty("notifications");
        Assert.True(view.GetProperty("webhookSecretSet").GetBoolean());
        Assert.Equal(_app.Time.GetUtcNow().AddHours(24), view.GetProperty("previousWebhookSecretUntil").GetDateTimeOffset());

        var notifications = ((INetworkDirectory)_app.Services.GetService(typeof(INetworkDirectory))!).FindOrganisation("demo-org")!.Notifications;
        Assert.Equal(secret, notifications.WebhookSecret);
        Assert.Equal([secret, First], notifications.SigningSecrets(_app.Time.GetUtcNow()));
        var database = await _app.DatabaseBytesAsync();
        Assert.False(Contains(database, secret), "The generated secret is in the database in clear.");
        Assert.False(Contains(database, First), "The replaced secret is in the database in clear.");
        Assert.DoesNotContain(_app.Logs, line => line.Contains(secret, StringComparison.Ordinal) || line.Contains(First, StringComparison.Ordinal));

        // A secret set by the coordinator replaces the generated one the same way: the generated one signs second.
        const string Third = "whsec_ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7";
        _app.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync("/api/admin/organisations/demo-org", new
        {
            name = "Demo outreach organisation",
            notifications = new { webhookUrl = "https://hooks.demo.example/referrals", webhookSecret = Third },
        })).StatusCode);
        notifications = ((INetworkDirectory)_app.Services.GetService(typeof(INetworkDirectory))!).FindOrganisation("demo-org")!.Notifications;
        Assert.Equal([Third, secret], notifications.SigningSecrets(_app.Time.GetUtcNow()));
        Assert.Equal(_app.Time.GetUtcNow().AddHours(24), notifications.PreviousWebhookSecret!.Until);

        // Removing the secret removes both.
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync("/api/admin/organisations/demo-org", new
        {
            name = "Demo outreach organisation",
            notifications = new { webhookUrl = (string?)null, webhookSecret = (string?)null },
        })).StatusCode);
        notifications = ((INetworkDirectory)_app.Services.GetService(typeof(INetworkDirectory))!).FindOrganisation("demo-org")!.Notifications;
        Assert.Null(notifications.WebhookSecret);
        Assert.Null(notifications.PreviousWebhookSecret);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync("/api/admin/organisations/nobody/webhook-secret", null)).StatusCode);
    }

    [Fact]
    public async Task A_secret_generated_with_overlap_none_replaces_a_leaked_one_at_once_and_another_overlap_value_is_a_400()
    {
        var client = Coordinator.Client(_app);
        const string Leaked = "whsec_U0VDUkVULTAxMjM0NTY3ODlhYmNkZWYtMDEyMzQ1Njc4OWFi";
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync("/api/admin/organisations/demo-org", new
        {
            name = "Demo outreach organisation",
            notifications = new { webhookUrl = "https://hooks.demo.example/referrals", webhookSecret = Leaked },
        })).StatusCode);

        var refused = await client.PostAsync("/api/admin/organisations/demo-org/webhook-secret?overlap=1h", null);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(["overlap"], Coordinator.ErrorKeys(await refused.Content.ReadFromJsonAsync<JsonElement>()));
        var directory = (INetworkDirectory)_app.Services.GetService(typeof(INetworkDirectory))!;
        Assert.Equal(Leaked, directory.FindOrganisation("demo-org")!.Notifications.WebhookSecret);

        var generated = await client.PostAsync("/api/admin/organisations/demo-org/webhook-secret?overlap=none", null);
        Assert.Equal(HttpStatusCode.Created, generated.StatusCode);
        var body = await generated.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(body.TryGetProperty("previousSecretUntil", out var until) && until.ValueKind != JsonValueKind.Null);
        var secret = body.GetProperty("webhookSecret").GetString()!;
        var notifications = directory.FindOrganisation("demo-org")!.Notifications;
        Assert.Equal([secret], notifications.SigningSecrets(_app.Time.GetUtcNow()));
        Assert.Null(notifications.PreviousWebhookSecret);
    }

    [Fact]
    public void A_configured_webhook_secret_not_in_the_standard_form_stops_the_start_naming_the_setting()
    {
        const string Secret = "an-old-style-secret-0123456789";
        var failure = Coordinator.StartupFailure(new Dictionary<string, string?>
        {
            ["Broker:Organisations:1:Id"] = "old-org",
            ["Broker:Organisations:1:Name"] = "Old",
            ["Broker:Organisations:1:ApiKeySha256"] = ApiKeys.Hash("old-org-key-0123456789"),
            ["Broker:Organisations:1:WebhookUrl"] = "https://hooks.example.org/x",
            ["Broker:Organisations:1:WebhookSecret"] = Secret,
        });
        Assert.Contains("Broker:Organisations entry 'old-org'", failure.Message, StringComparison.Ordinal);
        Assert.Contains("WebhookSecret", failure.Message, StringComparison.Ordinal);
        Assert.Contains("whsec_", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, failure.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-00:00:01")]
    [InlineData("31.00:00:00")]
    public void A_webhook_secret_overlap_out_of_range_stops_the_start_naming_the_setting(string overlap)
    {
        var failure = Coordinator.StartupFailure(new Dictionary<string, string?> { ["Broker:Notifications:WebhookSecretOverlap"] = overlap });
        Assert.Contains("Broker:Notifications:WebhookSecretOverlap", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"name":"Org","apiKeySha256":"00"}""", "apiKeySha256")]
    [InlineData("""{"name":"Org","notifications":{"sms":"+4400000"}}""", "notifications.sms")]
    [InlineData("""{"name":7}""", "name")]
    public async Task Unknown_or_mistyped_organisation_properties_are_refused_with_400(string body, string field)
    {
        var response = await Coordinator.Client(_app).PutAsync("/api/admin/organisations/some-org", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(field, Coordinator.ErrorKeys(await response.Content.ReadFromJsonAsync<JsonElement>()));
    }

    [Fact]
    public async Task Issuing_a_key_for_an_unknown_organisation_is_404()
    {
        var response = await Coordinator.Client(_app).PostAsync("/api/admin/organisations/nobody/key", null);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task A_partner_is_created_then_updated_and_the_directory_shows_it_without_its_email()
    {
        var created = await Coordinator.PutPartnerAsync(_app, Coordinator.Service("clinic-a"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var admin = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("intake@clinic-a.example.org", admin.GetProperty("service").GetProperty("email").GetString());

        var service = Coordinator.Service("clinic-a", languages: ["en", "pt-BR"]);
        service["name"] = "Clinic A (new name)";
        var updated = await Coordinator.PutPartnerAsync(_app, service);
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);

        var listedText = await _app.CreateClient().GetStringAsync("/api/partners");
        var clinic = JsonDocument.Parse(listedText).RootElement.EnumerateArray().Single(p => p.GetProperty("id").GetString() == "clinic-a");
        Assert.Equal("Clinic A (new name)", clinic.GetProperty("name").GetString());
        Assert.Equal(["health"], clinic.GetProperty("categories").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(["en", "pt-BR"], clinic.GetProperty("languages").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("Provider of clinic-a", clinic.GetProperty("organisationName").GetString());
        Assert.Equal(["Bangkok", "Pattaya, Chonburi"], clinic.GetProperty("serviceAreas").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("Mon-Fri 10:00-18:00", clinic.GetProperty("hours").GetString());
        Assert.Equal(["no-id-required", "accepting-referrals"], clinic.GetProperty("attributes").EnumerateArray().Select(c => c.GetString()));
        Assert.False(clinic.GetProperty("paused").GetBoolean());
        Assert.DoesNotContain("@", listedText, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.Created, (await _app.Organisation().PostAsJsonAsync("/api/referrals",
            BrokerApp.Referral(partnerId: "clinic-a"))).StatusCode);
    }

    [Theory]
    [InlineData("email", null, "service.email")]
    [InlineData("email", "intake at clinic", "service.email")]
    [InlineData("name", "=HYPERLINK(\"http://evil.example\")", "service.name")]
    [InlineData("name", null, "service.name")]
    [InlineData("id", "another-id", "service.id")]
    public async Task Invalid_partner_fields_are_refused_with_422_naming_them(string property, string? value, string error)
    {
        var service = Coordinator.Service("clinic-b");
        service[property] = value;
        var response = await Coordinator.PutPartnerAsync(_app, service);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains(error, Coordinator.ErrorKeys(await response.Content.ReadFromJsonAsync<JsonElement>()));
        Assert.DoesNotContain("clinic-b", Coordinator.Ids(await Coordinator.PartnersAsync(_app)));
    }

    [Fact]
    public async Task A_partner_needs_a_category_and_only_known_safety_attributes()
    {
        var noCategory = await Coordinator.PutPartnerAsync(_app, Coordinator.Service("clinic-c", categories: []));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, noCategory.StatusCode);

        var unknownAttribute = await Coordinator.PutPartnerAsync(_app, Coordinator.Service("clinic-c", attributes: ["reports-to-police"]));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, unknownAttribute.StatusCode);
        Assert.Contains(Coordinator.ErrorKeys(await unknownAttribute.Content.ReadFromJsonAsync<JsonElement>()),
            key => key.StartsWith("service.attributes[", StringComparison.Ordinal) && key.EndsWith("].taxonomy_term.code", StringComparison.Ordinal));

        var badCategory = await Coordinator.PutPartnerAsync(_app, Coordinator.Service("clinic-c", categories: ["Health Care"]));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, badCategory.StatusCode);
    }

    [Fact]
    public async Task A_partner_record_with_a_property_HSDS_does_not_define_is_refused_with_422_naming_it()
    {
        var service = Coordinator.Service("clinic-d");
        service["client_notes"] = "anything";
        var response = await Coordinator.PutPartnerAsync(_app, service);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal(["service.client_notes"], Coordinator.ErrorKeys(await response.Content.ReadFromJsonAsync<JsonElement>()));
    }

    [Fact]
    public async Task Pausing_refuses_referrals_with_422_and_resuming_lets_them_through_again()
    {
        var paused = await Coordinator.Client(_app).PostAsync("/api/admin/partners/demo-health/pause", null);
        Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
        Assert.Equal("coordinator", (await paused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("pause").GetProperty("cause").GetString());

        var refused = await _app.Organisation().PostAsJsonAsync("/api/referrals", BrokerApp.Referral());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("paused", problem.GetProperty("errors").GetProperty("partnerId")[0].GetString(), StringComparison.Ordinal);
        Assert.True((await Coordinator.PartnersAsync(_app)).EnumerateArray().Single(p => p.GetProperty("id").GetString() == "demo-health")
            .GetProperty("paused").GetBoolean());

        // Editing the record does not unpause it; only resume does.
        Assert.Equal(HttpStatusCode.OK, (await Coordinator.PutPartnerAsync(_app, Coordinator.Service("demo-health"))).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await _app.Organisation().PostAsJsonAsync("/api/referrals", BrokerApp.Referral())).StatusCode);

        var resumed = await Coordinator.Client(_app).PostAsync("/api/admin/partners/demo-health/resume", null);
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        Assert.False((await resumed.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("pause", out _));
        Assert.Equal(HttpStatusCode.Created, (await _app.Organisation().PostAsJsonAsync("/api/referrals", BrokerApp.Referral())).StatusCode);
    }

    [Theory]
    [InlineData("/api/admin/partners/nobody/pause")]
    [InlineData("/api/admin/partners/nobody/resume")]
    public async Task Pausing_or_resuming_an_unknown_partner_is_404(string path) =>
        Assert.Equal(HttpStatusCode.NotFound, (await Coordinator.Client(_app).PostAsync(path, null)).StatusCode);

    [Fact]
    public async Task Admin_writes_survive_a_restart_and_configuration_does_not_overwrite_them()
    {
        await Coordinator.PutPartnerAsync(_app, Coordinator.Service("demo-legal", categories: ["legal", "housing"]));
        await Coordinator.Client(_app).PostAsync("/api/admin/partners/demo-health/pause", null);

        using var restarted = Coordinator.App(dataPath: _app.DataPath);
        var partners = await Coordinator.PartnersAsync(restarted);
        var legal = partners.EnumerateArray().Single(p => p.GetProperty("id").GetString() == "demo-legal");
        Assert.Equal(["legal", "housing"], legal.GetProperty("categories").EnumerateArray().Select(c => c.GetString()));
        Assert.True(partners.EnumerateArray().Single(p => p.GetProperty("id").GetString() == "demo-health").GetProperty("paused").GetBoolean());
    }

    [Fact]
    public async Task A_demo_key_configured_at_a_later_start_does_not_replace_the_one_in_force()
    {
        await _app.SubmitAsync();
        using var restarted = Coordinator.App(dataPath: _app.DataPath, settings: new Dictionary<string, string?> { ["Broker:Demo:OrgApiKey"] = "a-new-demo-key-0123" });
        Assert.Equal(HttpStatusCode.Unauthorized, (await restarted.Organisation("a-new-demo-key-0123").PostAsJsonAsync("/api/referrals", BrokerApp.Referral())).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await restarted.Organisation().PostAsJsonAsync("/api/referrals", BrokerApp.Referral())).StatusCode);
    }

    private static StringContent Empty() => new("{}", Encoding.UTF8, "application/json");

    private static bool Contains(byte[] haystack, string needle) =>
        haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0;
}

/// <summary>Several instances over one store (Azure): each rereads the directory on its own clock.</summary>
public sealed class DirectoryRefreshTests : IDisposable
{
    private readonly BrokerApp _first = Coordinator.App();
    private readonly BrokerApp _second;

    public DirectoryRefreshTests() => _second = Coordinator.App(dataPath: _first.DataPath);

    public void Dispose()
    {
        _second.Dispose();
        _first.Dispose();
    }

    [Fact]
    public async Task Another_instances_pause_reaches_this_one_at_its_next_refresh()
    {
        Assert.Equal(HttpStatusCode.Created, (await _second.Organisation().PostAsJsonAsync("/api/referrals", BrokerApp.Referral())).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Coordinator.Client(_first).PostAsync("/api/admin/partners/demo-health/pause", null)).StatusCode);

        _second.Time.Advance(TimeSpan.FromSeconds(31));
        var status = HttpStatusCode.Created;
        for (var attempt = 0; attempt < 100 && status != HttpStatusCode.UnprocessableEntity; attempt++)
        {
            await Task.Delay(50);
            status = (await _second.Organisation().PostAsJsonAsync("/api/referrals", BrokerApp.Referral())).StatusCode;
        }

        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
    }
}
