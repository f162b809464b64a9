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

    /// <summary>An HSDS service object for a partner, every field filled in.</summary>
    public static JsonObject Service(
        string id, string[]? categories = null, string[]? languages = null, string[]? attributes = null, string? email = null) =>
        new()
        {
            ["id"] = id,
            ["name"] = $"Service {id}",
            ["description"] = "Walk-in hours, a woman doctor on Tuesdays",
            ["email"] = email ?? $"intake@{id}.example.org",
            ["organization"] = new JsonObject { ["id"] = $"{id}-org", ["name"] = $"Provider of {id}" },
            ["languages"] = new JsonArray([.. (languages ?? ["en", "th"]).Select(l => (JsonNode)new JsonObject { ["code"] = l })]),
            ["service_areas"] = new JsonArray(new JsonObject { ["name"] = "Bangkok" }, new JsonObject { ["name"] = "Pattaya, Chonburi" }),
            ["schedules"] = new JsonArray(new JsonObject { ["description"] = "Mon-Fri 10:00-18:00" }),
            ["accessibility"] = new JsonArray(new JsonObject { ["description"] = "Step-free entrance, \"quiet\" room" }),
            ["attributes"] = new JsonArray(
            [
                .. (categories ?? ["health"]).Select(c => (JsonNode)Term("referral-broker-category", c)),
                .. (attributes ?? ["no-id-required", "accepting-referrals"]).Select(a => (JsonNode)Term("referral-broker-safety", a)),
            ]),
        };

    public static async Task<HttpResponseMessage> PutPartnerAsync(BrokerApp app, JsonObject service) =>
        await Client(app).PutAsJsonAsync($"/api/admin/partners/{service["id"]}", service);

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
}
