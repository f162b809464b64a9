using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ReferralBroker.Embedded;
using ReferralBroker.Referrals;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Tests.Functions;

/// <summary>
/// One script of HTTP scenarios, run through the embedded app and through the Functions project's function classes
/// (behind the worker's gate middleware), compared answer by answer: status, the headers that matter, the body.
/// </summary>
public sealed partial class HostingContractTests
{
    private const string StatusLimit = "4";

    [Fact]
    public async Task Both_hostings_answer_every_scenario_with_the_same_status_headers_and_body()
    {
        var pepper = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        IReadOnlyList<Answer> embedded, worker;
        using (var app = new EmbeddedHosting(pepper))
        {
            embedded = await Script.RunAsync(app);
        }

        using (var functions = new WorkerHosting(pepper))
        {
            worker = await Script.RunAsync(functions);
        }

        Assert.Equal(embedded.Select(a => a.Label), worker.Select(a => a.Label));
        foreach (var (expected, actual) in embedded.Zip(worker))
        {
            Assert.Equal(expected, actual);
        }

        // The script reaches every error class, so a hosting that answered one of them differently fails above.
        Assert.Equivalent(new[] { 400, 401, 403, 404, 409, 413, 422, 429 },
            embedded.Select(a => a.Status).Where(s => s >= 400).Distinct().Order().ToArray());
    }

    /// <summary>An answer with what differs by nature between two runs (ids, tokens, trace ids) replaced by names.</summary>
    internal sealed record Answer(string Label, int Status, string? ContentType, string Headers, string Body);

    internal interface IHosting : IDisposable
    {
        Task<HttpResponseMessage> SendAsync(HttpRequestMessage request);

        Task DispatchAsync();

        string[] Outbox();
    }

    private static Dictionary<string, string?> Settings(string dataPath, string pepper) => new()
    {
        ["Broker:DataPath"] = dataPath,
        ["Broker:PublicBaseUrl"] = "https://broker.test",
        ["Broker:Pepper"] = pepper,
        ["Broker:Demo:OrgApiKey"] = BrokerApp.OrgKey,
        // The worker's host is not in Development: the demo network is switched on for the script.
        ["Broker:Demo:Enabled"] = "true",
        ["Broker:Queue:RunDispatcher"] = "false",
        ["Broker:Queue:RunSweep"] = "false",
        ["Broker:Queue:RunNotifications"] = "false",
        ["Broker:Admin:CoordinatorKeySha256"] = ApiKeys.Hash(Coordinator.Key),
        ["Broker:RateLimits:StatusPerMinute"] = StatusLimit,
        ["Broker:RateLimits:FlagsPerMinute"] = "1",
        ["Broker:Organisations:0:Id"] = "other-org",
        ["Broker:Organisations:0:Name"] = "Another organisation",
        ["Broker:Organisations:0:ApiKeySha256"] = ApiKeys.Hash(BrokerApp.OtherOrgKey),
    };

    private sealed class EmbeddedHosting(string pepper) : IHosting
    {
        private static readonly string DataPath = Directory.CreateTempSubdirectory("contract-embedded-").FullName;
        private readonly BrokerApp _app = new(dataPath: DataPath, settings: Settings(DataPath, pepper));

        public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request) => _app.CreateClient().SendAsync(request);

        public Task DispatchAsync() => _app.DispatchAsync();

        public string[] Outbox() => _app.Outbox();

        public void Dispose() => _app.Dispose();
    }

    private sealed class WorkerHosting : IHosting
    {
        private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("contract-worker-");
        private readonly WorkerHarness _worker;

        public WorkerHosting(string pepper)
        {
            _worker = new WorkerHarness(WorkerHarness.WithUnusedAzureSettings(Settings(_data.FullName, pepper)), new FakeTimeProvider(BrokerApp.Start));
        }

        public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request) => _worker.SendAsync(request, from: null);

        public Task DispatchAsync() => _worker.Services.GetRequiredService<EmbeddedDispatchPump>().DrainAsync(CancellationToken.None);

        public string[] Outbox() => [.. _worker.Services.GetRequiredService<MailMode>().DevelopmentMailbox!.Messages().Select(m => m.Text)];

        public void Dispose()
        {
            _worker.Dispose();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            _data.Delete(recursive: true);
        }
    }

    private sealed partial class Script(IHosting hosting)
    {
        private static readonly string[] Volatile = ["referralId", "statusToken", "duressToken", "traceId", "nonce", "ciphertext", "continuation", "staffId", "key",
            "webhookSecret", "generatedAt", "previousSecretUntil", "previousWebhookSecretUntil"];
        private static readonly string[] Compared =
        [
            "Location", "WWW-Authenticate", "Retry-After", "Cache-Control", "X-Content-Type-Options", "X-Frame-Options",
            "Referrer-Policy", "Content-Security-Policy", "Permissions-Policy", "Strict-Transport-Security",
        ];

        private readonly List<Answer> _answers = [];
        private readonly Dictionary<string, string> _names = [];

        public static async Task<IReadOnlyList<Answer>> RunAsync(IHosting hosting)
        {
            var script = new Script(hosting);
            await script.RunAsync();
            // Named once the script is done, when every id and token it met is known.
            return [.. script._answers.Select(a => a with { Headers = script.Named(a.Headers), Body = script.Normalised(a.Body) })];
        }

        private async Task RunAsync()
        {
            var referral = BrokerApp.Referral("CONTRACT");
            var created = await SendAsync("submit", Post("/api/referrals", referral, BrokerApp.OrgKey, ("Idempotency-Key", "contract-1")));
            var submitted = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
            Assert.True(created.StatusCode == HttpStatusCode.Created, $"{hosting.GetType().Name}: {(int)created.StatusCode} {submitted}");
            Name(submitted.GetProperty("referralId").GetString()!, "{referral}");
            Name(submitted.GetProperty("statusToken").GetString()!, "{token}");
            var id = submitted.GetProperty("referralId").GetString()!;
            var token = submitted.GetProperty("statusToken").GetString()!;

            await SendAsync("idempotent retry", Post("/api/referrals", referral, BrokerApp.OrgKey, ("Idempotency-Key", "contract-1")));
            await SendAsync("key reused with another body", Post("/api/referrals", BrokerApp.Referral("OTHER"), BrokerApp.OrgKey, ("Idempotency-Key", "contract-1")));
            await SendAsync("no key", Post("/api/referrals", referral, null));
            await SendAsync("unknown key", Post("/api/referrals", referral, "nobody-holds-this-key"));
            await SendAsync("not JSON", Raw(HttpMethod.Post, "/api/referrals", "{\"category\":", BrokerApp.OrgKey));
            await SendAsync("unknown partner", Post("/api/referrals", BrokerApp.Referral(partnerId: "nobody"), BrokerApp.OrgKey));
            await SendAsync("too large", Raw(HttpMethod.Post, "/api/referrals", new string(' ', 17 * 1024) + "{}", BrokerApp.OrgKey));
            await SendAsync("list", Get("/api/referrals", BrokerApp.OrgKey));
            await SendAsync("list, bad filter", Get("/api/referrals?status=lost", BrokerApp.OrgKey));
            await SendAsync("get", Get($"/api/referrals/{id}", BrokerApp.OrgKey));
            await SendAsync("get, another organisation's id", Get("/api/referrals/ref_0000", BrokerApp.OrgKey));
            var again = new { consent = referral.GetProperty("consent"), client = referral.GetProperty("client") };
            await SendAsync("resend, not deliveryFailed", Post($"/api/referrals/{id}/resend", again, BrokerApp.OrgKey));
            await SendAsync("resend, another organisation's id", Post("/api/referrals/ref_0000/resend", again, BrokerApp.OrgKey));
            await SendAsync("resend, a category in the body", Post($"/api/referrals/{id}/resend", new { category = "legal" }, BrokerApp.OrgKey));

            await hosting.DispatchAsync();
            var link = hosting.Outbox().Select(BrokerApp.LinkIn).Single(l => l.ReferralId == id);
            var partner = $"/api/partner/referrals/{id}";
            await SendAsync("partner reads", Capability(Get(partner, null), link.Capability));
            await SendAsync("partner, wrong capability", Capability(Get(partner, null), "AAAA"));
            await SendAsync("partner accepts", Capability(Post($"{partner}/accept", null, null), link.Capability));
            await SendAsync("partner accepts again", Capability(Post($"{partner}/accept", null, null), link.Capability));
            await SendAsync("partner declines, unknown reason", Capability(Post($"{partner}/decline", new { reason = "busy" }, null), link.Capability));
            await SendAsync("partner progress", Capability(Post($"{partner}/progress", new { status = "in-progress" }, null), link.Capability));

            await SendAsync("directory", Get("/api/partners", null));
            await SendAsync("directory, unknown attribute", Get("/api/partners?attribute=cheap", null));
            await HsdsAsync();
            await SendAsync("flag", Post("/api/partners/demo-legal/flags", new { reason = "breach-of-confidentiality" }, BrokerApp.OrgKey));
            // The organisation's budget of flags is one a minute here; the other organisation's is its own.
            await SendAsync("flag, over the organisation's limit", Post("/api/partners/demo-legal/flags", new { reason = "breach-of-confidentiality" }, BrokerApp.OrgKey));
            await SendAsync("flag, another organisation", Post("/api/partners/demo-health/flags", new { reason = "breach-of-confidentiality" }, BrokerApp.OtherOrgKey));
            await SendAsync("report", Get("/api/reports/summary", BrokerApp.OrgKey));
            await SendAsync("report as CSV", Get("/api/reports/summary?format=csv", BrokerApp.OrgKey));
            // Generated live by the embedded host, the committed copy from the worker: one document.
            await SendAsync("OpenAPI document", Get("/openapi/v1.json", null));
            await SendAsync("report, bad format", Get("/api/reports/summary?format=xml", BrokerApp.OrgKey));

            await SendAsync("admin", Get("/api/admin/organisations", Coordinator.Key));
            await SendAsync("admin, organisation key", Get("/api/admin/organisations", BrokerApp.OrgKey));
            await SendAsync("admin, no key", Get("/api/admin/partners", null));
            await SendAsync("admin partner", Get("/api/admin/partners/demo-health", Coordinator.Key));
            await SendAsync("admin pause", Post("/api/admin/partners/demo-employment/pause", null, Coordinator.Key));
            await SendAsync("admin export", Get("/api/admin/directory.csv", Coordinator.Key));
            await SendAsync("admin flags", Get("/api/admin/flags", Coordinator.Key));
            await SendAsync("admin remove partner, active", Keyed(new HttpRequestMessage(HttpMethod.Delete, "/api/admin/partners/demo-legal"), Coordinator.Key));
            await SendAsync("admin remove partner", Keyed(new HttpRequestMessage(HttpMethod.Delete, "/api/admin/partners/demo-employment"), Coordinator.Key));
            await SendAsync("admin remove partner, unknown", Keyed(new HttpRequestMessage(HttpMethod.Delete, "/api/admin/partners/demo-employment"), Coordinator.Key));
            // Personal staff keys: listed before any is used, so no last use is being written while they are read.
            var mai = await SendAsync("staff: coordinator issues a caseworker key",
                Post("/api/admin/staff", new { name = "Mai", role = "caseworker", organisationId = "demo-org" }, Coordinator.Key));
            var maiIssued = JsonDocument.Parse(await mai.Content.ReadAsStringAsync()).RootElement;
            var maiKey = maiIssued.GetProperty("key").GetString()!;
            var maiId = maiIssued.GetProperty("staffId").GetString()!;
            await SendAsync("staff: coordinator, unknown role", Post("/api/admin/staff", new { name = "Mai", role = "boss" }, Coordinator.Key));
            await SendAsync("staff: organisation issues", Post("/api/staff", new { name = "Lek" }, BrokerApp.OrgKey));
            await SendAsync("staff: organisation lists", Get("/api/staff", BrokerApp.OrgKey));
            await SendAsync("staff: coordinator lists", Get("/api/admin/staff", Coordinator.Key));
            await SendAsync("staff: me, caseworker", Get("/api/me", maiKey));
            await SendAsync("staff: me, organisation", Get("/api/me", BrokerApp.OrgKey));
            await SendAsync("staff: me, coordinator", Get("/api/me", Coordinator.Key));
            await SendAsync("staff: me, no key", Get("/api/me", null));
            await SendAsync("staff: caseworker key on the staff list", Get("/api/staff", maiKey));
            await SendAsync("staff: caseworker key on admin", Get("/api/admin/staff", maiKey));
            await SendAsync("staff: caseworker lists referrals", Get("/api/referrals", maiKey));
            await SendAsync("staff: another organisation revokes", Keyed(new HttpRequestMessage(HttpMethod.Delete, $"/api/staff/{maiId}"), BrokerApp.OtherOrgKey));
            await SendAsync("staff: coordinator revokes", Keyed(new HttpRequestMessage(HttpMethod.Delete, $"/api/admin/staff/{maiId}"), Coordinator.Key));
            await SendAsync("staff: revoked key", Get("/api/me", maiKey));
            await SendAsync("admin partner contact", Put("/api/admin/organisations/other-org",
                new { name = "Another organisation", partnerContact = new { named = false, contact = "Call our drop-in, Mon-Fri" } }, Coordinator.Key));
            await SendAsync("admin partner contact, two lines", Put("/api/admin/organisations/other-org",
                new { name = "Another organisation", partnerContact = new { named = false, contact = "Call\nus" } }, Coordinator.Key));

            await SendAsync("admin deactivate", Post("/api/admin/organisations/other-org/deactivate", null, Coordinator.Key));
            await SendAsync("deactivated organisation's key", Get("/api/referrals", BrokerApp.OtherOrgKey));
            await SendAsync("admin issue key, deactivated", Post("/api/admin/organisations/other-org/key", null, Coordinator.Key));
            await SendAsync("admin activate", Post("/api/admin/organisations/other-org/activate", null, Coordinator.Key));
            await SendAsync("admin activate, unknown", Post("/api/admin/organisations/nobody/activate", null, Coordinator.Key));
            await SendAsync("admin revoke key", Keyed(new HttpRequestMessage(HttpMethod.Delete, "/api/admin/organisations/other-org/key"), Coordinator.Key));
            await SendAsync("revoked key", Get("/api/referrals", BrokerApp.OtherOrgKey));
            await SendAsync("admin revoke key, unknown", Keyed(new HttpRequestMessage(HttpMethod.Delete, "/api/admin/organisations/nobody/key"), Coordinator.Key));
            await SendAsync("admin revoke key, organisation key", Keyed(new HttpRequestMessage(HttpMethod.Delete, "/api/admin/organisations/other-org/key"), BrokerApp.OrgKey));
            await SendAsync("admin generate webhook secret", Post("/api/admin/organisations/other-org/webhook-secret", null, Coordinator.Key));
            await SendAsync("admin generate webhook secret, rotating", Post("/api/admin/organisations/other-org/webhook-secret", null, Coordinator.Key));
            await SendAsync("admin generate webhook secret, unknown", Post("/api/admin/organisations/nobody/webhook-secret", null, Coordinator.Key));
            await SendAsync("admin generate webhook secret, organisation key", Post("/api/admin/organisations/other-org/webhook-secret", null, BrokerApp.OrgKey));
            await SendAsync("admin webhook secret, not the standard form", Put("/api/admin/organisations/other-org",
                new { name = "Another organisation", notifications = new { webhookUrl = "https://hooks.example.org/x", webhookSecret = "not-whsec-0123456789abcdef" } }, Coordinator.Key));

            await SendAsync("pages: status", Get("/status", null));
            await SendAsync("pages: refer", Get("/refer", null));
            await SendAsync("pages: admin", Get("/admin", null));
            await SendAsync("pages: partner", Get($"/partner/{id}", null));
            await SendAsync("pages: reports, in Thai", Get("/reports?lang=th", null));
            await SendAsync("assets", Get("/assets/site.css", null));
            await SendAsync("assets, nothing there", Get("/assets/..site.css", null));

            // The status limit is per address per minute; these are the only status lookups of the script, in a row.
            await SendAsync("status", Post("/api/status", new { token }, null));
            await SendAsync("status page, in Thai", Form("/status?lang=th", token));
            await SendAsync("withdraw", Post("/api/status/withdraw", new { token }, null));
            await SendAsync("withdraw again", Post("/api/status/withdraw", new { token }, null));
            await SendAsync("status, over the limit", Post("/api/status", new { token = "nobody-has-this" }, null));
        }

        /// <summary>The HSDS API and Data Package; the ids each hosting minted are named in order of appearance.</summary>
        private async Task HsdsAsync()
        {
            await SendAsync("hsds: root", Get("/api/hsds/", null));
            var page = await SendAsync("hsds: services", Get("/api/hsds/services?per_page=2", null));
            var service = JsonNode.Parse(await page.Content.ReadAsStringAsync())!["contents"]![0]!;
            await SendAsync("hsds: services, full, page 2", Get("/api/hsds/services?full=true&page=2&per_page=2", null));
            await SendAsync("hsds: services, bad page", Get("/api/hsds/services?page=0", null));
            await SendAsync("hsds: services, unknown parameter", Get("/api/hsds/services?modified_after=2026-01-01", null));
            await SendAsync("hsds: service by id", Get($"/api/hsds/services/{service["id"]}", null));
            await SendAsync("hsds: service by slug", Get("/api/hsds/services/demo-health", null));
            await SendAsync("hsds: service, unknown", Get("/api/hsds/services/nobody", null));
            await SendAsync("hsds: organization", Get($"/api/hsds/organizations/{service["organization"]!["id"]}", null));
            await SendAsync("hsds: organizations, full", Get("/api/hsds/organizations?full=true", null));
            var terms = await SendAsync("hsds: taxonomy terms", Get("/api/hsds/taxonomy_terms?per_page=3", null));
            var term = JsonNode.Parse(await terms.Content.ReadAsStringAsync())!["contents"]![0]!;
            await SendAsync("hsds: taxonomy term", Get($"/api/hsds/taxonomy_terms/{term["id"]}", null));
            await SendAsync("hsds: taxonomies", Get("/api/hsds/taxonomies", null));
            await SendAsync("hsds: taxonomy", Get($"/api/hsds/taxonomies/{term["taxonomy_id"]}", null));
            await SendAsync("hsds: data package", Get("/api/hsds/datapackage.json", null));
            await SendAsync("hsds: services.csv", Get("/api/hsds/services.csv", null));
            await SendAsync("hsds: attributes.csv", Get("/api/hsds/attributes.csv", null));
            await SendAsync("hsds: a table the package does not have", Get("/api/hsds/programs.csv", null));
            var zip = await hosting.SendAsync(Get("/api/hsds/datapackage.zip", null));
            using var entries = new System.IO.Compression.ZipArchive(await zip.Content.ReadAsStreamAsync());
            _answers.Add(new Answer("hsds: zip", (int)zip.StatusCode, zip.Content.Headers.ContentType?.ToString(), "",
                string.Join(",", entries.Entries.Select(e => e.FullName))));
            foreach (var answer in _answers.Where(a => a.Label.StartsWith("hsds:", StringComparison.Ordinal)))
            {
                foreach (var id in HsdsIds().Matches(answer.Body).Select(m => m.Value).Where(id => !_names.ContainsKey(id)))
                {
                    Name(id, $"{{hsds-id-{_names.Count}}}");
                }
            }
        }

        [System.Text.RegularExpressions.GeneratedRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")]
        private static partial System.Text.RegularExpressions.Regex HsdsIds();

        private void Name(string value, string name) => _names[value] = name;

        private async Task<HttpResponseMessage> SendAsync(string label, HttpRequestMessage request)
        {
            var response = await hosting.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            var headers = string.Join("\n", Compared.Select(h => $"{h}: {Header(response, h)}"));
            _answers.Add(new Answer(label, (int)response.StatusCode, response.Content.Headers.ContentType?.ToString(), headers, body));
            return response;
        }

        private string Normalised(string body)
        {
            body = Named(body);
            try
            {
                var node = JsonNode.Parse(body);
                Blank(node);
                return node?.ToJsonString() ?? body;
            }
            catch (JsonException)
            {
                return body;
            }
        }

        private string Named(string text) => _names.Aggregate(text, (t, name) => t.Replace(name.Key, name.Value, StringComparison.Ordinal));

        private static void Blank(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var key in o.Select(p => p.Key).ToList())
                    {
                        if (Volatile.Contains(key))
                        {
                            o[key] = "*";
                        }
                        else
                        {
                            Blank(o[key]);
                        }
                    }

                    break;
                case JsonArray a:
                    a.ToList().ForEach(Blank);
                    break;
            }
        }

        private static string? Header(HttpResponseMessage response, string name) =>
            response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
                ? string.Join(",", values)
                : null;

        private static HttpRequestMessage Get(string path, string? key) => Keyed(new HttpRequestMessage(HttpMethod.Get, path), key);

        private static HttpRequestMessage Post(string path, object? body, string? key, params (string Name, string Value)[] headers)
        {
            var request = Keyed(new HttpRequestMessage(HttpMethod.Post, path) { Content = body is null ? null : JsonContent.Create(body) }, key);
            foreach (var (name, value) in headers)
            {
                request.Headers.Add(name, value);
            }

            return request;
        }

        private static HttpRequestMessage Put(string path, object body, string? key) =>
            Keyed(new HttpRequestMessage(HttpMethod.Put, path) { Content = JsonContent.Create(body) }, key);

        private static HttpRequestMessage Raw(HttpMethod method, string path, string body, string? key) =>
            Keyed(new HttpRequestMessage(method, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") }, key);

        private static HttpRequestMessage Form(string path, string token) =>
            new(HttpMethod.Post, path) { Content = new FormUrlEncodedContent([new("token", token)]) };

        private static HttpRequestMessage Capability(HttpRequestMessage request, string capability)
        {
            request.Headers.Add("X-Referral-Capability", capability);
            return request;
        }

        private static HttpRequestMessage Keyed(HttpRequestMessage request, string? key)
        {
            if (key is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }

            return request;
        }
    }
}
