using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using ReferralBroker.Referrals;

namespace ReferralBroker.Tests.Integration;

/// <summary>The network coordinator's side of the tests: a broker with a coordinator key, and HSDS partner records.</summary>
internal static class Coordinator
{
    public const string Key = "coordinator-key-0123456789abcdef";

    /// <summary>The validation failure that stops a broker with these settings from starting.</summary>
    public static Microsoft.Extensions.Options.OptionsValidationException StartupFailure(IReadOnlyDictionary<string, string?> settings)
    {
        using var app = App(settings);
        return Xunit.Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => app.CreateClient());
    }

    public static BrokerApp App(IReadOnlyDictionary<string, string?>? settings = null, string? dataPath = null, bool runDispatcher = false)
    {
        var all = new Dictionary<string, string?> { ["Broker:Admin:CoordinatorKeySha256"] = ApiKeys.Hash(Key) };
        foreach (var (name, value) in settings ?? new Dictionary<string, string?>())
        {
            all[name] = value;
        }

        return new BrokerApp(dataPath: dataPath, runDispatcher: runDispatcher, settings: all);
    }

    public static HttpClient Client(BrokerApp app, string key = Key)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>
    /// An HSDS 3.0 service object for a partner, every field the broker reads filled in, without HSDS ids (the broker
    /// mints them): its slug in a referral-broker-id attribute, its provider's likewise, and <paramref name="email"/>
    /// as its email, which is its referral address too when the PUT gives none beside it.
    /// </summary>
    public static JsonObject Service(
        string id, string[]? categories = null, string[]? languages = null, string[]? attributes = null, string? email = null) =>
        new()
        {
            ["name"] = $"Service {id}",
            ["description"] = "Walk-in hours, a woman doctor on Tuesdays",
            ["email"] = email ?? $"intake@{id}.example.org",
            ["status"] = "active",
            ["organization"] = new JsonObject
            {
                ["name"] = $"Provider of {id}",
                ["description"] = $"The organisation behind {id}",
                ["attributes"] = new JsonArray(Slug($"{id}-org")),
            },
            ["languages"] = new JsonArray([.. (languages ?? ["en", "th"]).Select(l => (JsonNode)new JsonObject { ["code"] = l })]),
            ["service_areas"] = new JsonArray(new JsonObject { ["name"] = "Bangkok" }, new JsonObject { ["name"] = "Pattaya, Chonburi" }),
            ["schedules"] = new JsonArray(new JsonObject { ["description"] = "Mon-Fri 10:00-18:00" }),
            ["service_at_locations"] = new JsonArray(new JsonObject
            {
                ["location"] = new JsonObject
                {
                    ["location_type"] = "physical",
                    ["accessibility"] = new JsonArray(new JsonObject { ["description"] = "Step-free entrance, \"quiet\" room" }),
                },
            }),
            ["attributes"] = new JsonArray(
            [
                Slug(id),
                .. (categories ?? ["health"]).Select(c => (JsonNode)Term("referral-broker-category", c)),
                .. (attributes ?? ["no-id-required", "accepting-referrals"]).Select(a => (JsonNode)Term("referral-broker-safety", a)),
            ]),
        };

    /// <summary>The slug of a <see cref="Service"/> object: the value of its referral-broker-id attribute.</summary>
    public static string SlugOf(JsonNode service) =>
        service["attributes"]!.AsArray().First(a => a?["taxonomy_term"]?["taxonomy"]?.GetValue<string>() == "referral-broker-id")!["value"]!.GetValue<string>();

    /// <summary>PUTs the service under its slug, with <paramref name="referralEmail"/> beside it when given.</summary>
    public static async Task<HttpResponseMessage> PutPartnerAsync(BrokerApp app, JsonObject service, string? referralEmail = null) =>
        await Client(app).PutAsJsonAsync($"/api/admin/partners/{SlugOf(service)}",
            new JsonObject { ["referralEmail"] = referralEmail, ["service"] = service.DeepClone() });

    public static async Task<string> IssueKeyAsync(BrokerApp app, string organisationId)
    {
        var response = await Client(app).PostAsync($"/api/admin/organisations/{organisationId}/key", null);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("apiKey").GetString()!;
    }

    public static async Task<JsonElement> PartnersAsync(BrokerApp app, string query = "") =>
        await app.CreateClient().GetFromJsonAsync<JsonElement>("/api/partners" + query);

    public static IEnumerable<string> Ids(JsonElement partners) =>
        partners.EnumerateArray().Select(p => p.GetProperty("id").GetString()!);

    public static IEnumerable<string> ErrorKeys(JsonElement problem) =>
        problem.GetProperty("errors").EnumerateObject().Select(p => p.Name);

    private static JsonObject Term(string taxonomy, string code) =>
        new() { ["taxonomy_term"] = new JsonObject { ["taxonomy"] = taxonomy, ["code"] = code } };

    private static JsonObject Slug(string slug) =>
        new() { ["value"] = slug, ["taxonomy_term"] = new JsonObject { ["taxonomy"] = "referral-broker-id", ["code"] = "slug" } };
}
