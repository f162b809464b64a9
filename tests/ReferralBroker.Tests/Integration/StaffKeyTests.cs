using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;

namespace ReferralBroker.Tests.Integration;

/// <summary>
/// Staff sign in as themselves: personal keys issued by the coordinator or by an organisation for its caseworkers,
/// listed with last use, revoked alone; what each kind of key opens; <c>/api/me</c>.
/// </summary>
public sealed class StaffKeyTests : IDisposable
{
    private readonly StaffUseWatch _watch = new();
    private readonly BrokerApp _app;

    public StaffKeyTests() => _app = new BrokerApp(
        settings: new Dictionary<string, string?> { ["Broker:Admin:CoordinatorKeySha256"] = ApiKeys.Hash(Coordinator.Key) },
        services: _watch.Install);

    public void Dispose()
    {
        _app.Dispose();
        _watch.Dispose();
    }

    private HttpClient Keyed(string key)
    {
        var client = _app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private async Task<JsonElement> IssueAsync(object body, string issuerKey = Coordinator.Key, string path = "/api/admin/staff")
    {
        var response = await Keyed(issuerKey).PostAsJsonAsync(path, body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private Task<JsonElement> CaseworkerAsync(string name = "Mai", string organisationId = "demo-org") =>
        IssueAsync(new { name, role = "caseworker", organisationId });

    private static string KeyOf(JsonElement issued) => issued.GetProperty("key").GetString()!;

    private static string IdOf(JsonElement issued) => issued.GetProperty("staffId").GetString()!;

    private async Task<JsonElement[]> ListAsync(string key = Coordinator.Key, string path = "/api/admin/staff") =>
        [.. (await Keyed(key).GetFromJsonAsync<JsonElement>(path)).EnumerateArray()];

    [Fact]
    public async Task The_coordinator_issues_a_caseworker_key_shown_once_that_acts_as_her_organisation()
    {
        var issued = await CaseworkerAsync();
        var key = KeyOf(issued);
        Assert.Matches("^rbs_[A-Za-z0-9_-]{43}$", key);
        Assert.Matches("^stf_[0-9a-f]{32}$", IdOf(issued));
        Assert.Equal("Mai", issued.GetProperty("name").GetString());
        Assert.Equal("caseworker", issued.GetProperty("role").GetString());
        Assert.Equal("demo-org", issued.GetProperty("organisationId").GetString());
        Assert.Equal(BrokerApp.Start, issued.GetProperty("createdAt").GetDateTimeOffset());
        Assert.Equal(JsonValueKind.Null, issued.GetProperty("lastUsedAt").ValueKind);

        // Her referral is her organisation's: the organisation's own key finds it, another organisation's does not.
        var submitted = await _app.SubmitAsync(organisation: Keyed(key));
        Assert.Equal(HttpStatusCode.OK, (await _app.Organisation().GetAsync($"/api/referrals/{submitted.ReferralId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _app.Organisation(BrokerApp.OtherOrgKey).GetAsync($"/api/referrals/{submitted.ReferralId}")).StatusCode);
        var caseworker = Keyed(key);
        Assert.Equal(HttpStatusCode.OK, (await caseworker.GetAsync("/api/referrals")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await caseworker.GetAsync("/api/reports/summary")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await caseworker.PostAsJsonAsync("/api/partners/demo-health/flags", new { reason = "demanded-identity-documents" })).StatusCode);

        // Listed without the key, and never shown again.
        var listed = Assert.Single(await ListAsync());
        Assert.Equal(IdOf(issued), IdOf(listed));
        Assert.False(listed.TryGetProperty("key", out _));
        Assert.Equal(["createdAt", "lastUsedAt", "name", "organisationId", "role", "staffId"], listed.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));

        // A caseworker's key is no coordinator's.
        Assert.Equal(HttpStatusCode.Forbidden, (await caseworker.GetAsync("/api/admin/organisations")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await caseworker.GetAsync("/api/admin/staff")).StatusCode);
    }

    [Fact]
    public async Task A_coordinators_personal_key_opens_every_admin_route_and_no_organisation_route()
    {
        var issued = await IssueAsync(new { name = "Asha", role = "coordinator" });
        Assert.Equal(JsonValueKind.Null, issued.GetProperty("organisationId").ValueKind);
        var coordinator = Keyed(KeyOf(issued));

        Assert.Equal(HttpStatusCode.OK, (await coordinator.GetAsync("/api/admin/organisations")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await coordinator.PostAsync("/api/admin/partners/demo-legal/pause", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await coordinator.GetAsync("/api/admin/directory.csv")).StatusCode);
        var other = await IssueAsync(new { name = "Ben", role = "caseworker", organisationId = "other-org" }, KeyOf(issued));
        Assert.Equal(2, (await ListAsync(KeyOf(issued))).Length);
        Assert.Equal(HttpStatusCode.NoContent, (await coordinator.DeleteAsync($"/api/admin/staff/{IdOf(other)}")).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await coordinator.PostAsJsonAsync("/api/referrals", BrokerApp.Referral())).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await coordinator.GetAsync("/api/staff")).StatusCode);
    }

    [Fact]
    public async Task Me_says_who_each_kind_of_key_belongs_to_and_401_for_none_or_an_unknown_one()
    {
        var caseworker = await CaseworkerAsync();
        var coordinator = await IssueAsync(new { name = "Asha", role = "coordinator" });

        var organisation = await _app.Organisation().GetFromJsonAsync<JsonElement>("/api/me");
        Assert.Equal("organisation", organisation.GetProperty("kind").GetString());
        var demoName = organisation.GetProperty("organisation").GetProperty("name").GetString();
        Assert.Equal(demoName, organisation.GetProperty("name").GetString());
        Assert.Equal("demo-org", organisation.GetProperty("organisation").GetProperty("id").GetString());
        Assert.Equal(JsonValueKind.Null, organisation.GetProperty("staffId").ValueKind);

        var her = await Keyed(KeyOf(caseworker)).GetFromJsonAsync<JsonElement>("/api/me");
        Assert.Equal("caseworker", her.GetProperty("kind").GetString());
        Assert.Equal("Mai", her.GetProperty("name").GetString());
        Assert.Equal("demo-org", her.GetProperty("organisation").GetProperty("id").GetString());
        Assert.Equal(demoName, her.GetProperty("organisation").GetProperty("name").GetString());
        Assert.Equal(IdOf(caseworker), her.GetProperty("staffId").GetString());

        var personal = await Keyed(KeyOf(coordinator)).GetFromJsonAsync<JsonElement>("/api/me");
        Assert.Equal("coordinator", personal.GetProperty("kind").GetString());
        Assert.Equal("Asha", personal.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, personal.GetProperty("organisation").ValueKind);
        Assert.Equal(IdOf(coordinator), personal.GetProperty("staffId").GetString());

        var configured = await Keyed(Coordinator.Key).GetFromJsonAsync<JsonElement>("/api/me");
        Assert.Equal("coordinator", configured.GetProperty("kind").GetString());
        Assert.Equal("Network coordinator", configured.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, configured.GetProperty("organisation").ValueKind);
        Assert.Equal(JsonValueKind.Null, configured.GetProperty("staffId").ValueKind);

        foreach (var response in new[] { await _app.CreateClient().GetAsync("/api/me"), await Keyed("rbs_nobody-holds-this").GetAsync("/api/me") })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
        }
    }

    [Fact]
    public async Task A_revoked_key_opens_nothing_and_every_other_key_goes_on_working()
    {
        var mai = await CaseworkerAsync("Mai");
        var lek = await CaseworkerAsync("Lek");
        var asha = await IssueAsync(new { name = "Asha", role = "coordinator" });

        Assert.Equal(HttpStatusCode.NoContent, (await Keyed(Coordinator.Key).DeleteAsync($"/api/admin/staff/{IdOf(mai)}")).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await Keyed(KeyOf(mai)).GetAsync("/api/referrals")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Keyed(KeyOf(mai)).GetAsync("/api/me")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Keyed(KeyOf(lek)).GetAsync("/api/referrals")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Keyed(KeyOf(asha)).GetAsync("/api/admin/organisations")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _app.Organisation().GetAsync("/api/referrals")).StatusCode);
        Assert.Equal(["Asha", "Lek"], (await ListAsync()).Select(s => s.GetProperty("name").GetString()).Order());

        var again = await Keyed(Coordinator.Key).DeleteAsync($"/api/admin/staff/{IdOf(mai)}");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal("application/problem+json", again.Content.Headers.ContentType?.MediaType);

        // Revoked stays revoked across a restart.
        _app.Dispose();
        using var restarted = Coordinator.App(dataPath: _app.DataPath);
        Assert.Equal(HttpStatusCode.Unauthorized, (await restarted.Organisation(KeyOf(mai)).GetAsync("/api/referrals")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await restarted.Organisation(KeyOf(lek)).GetAsync("/api/referrals")).StatusCode);
    }

    [Fact]
    public async Task A_deactivated_organisations_caseworker_keys_open_nothing_until_it_is_activated_and_none_are_issued_meanwhile()
    {
        var mai = KeyOf(await CaseworkerAsync());
        Assert.Equal(HttpStatusCode.OK, (await Keyed(Coordinator.Key).PostAsync("/api/admin/organisations/demo-org/deactivate", null)).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await Keyed(mai).GetAsync("/api/referrals")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Keyed(mai).PostAsJsonAsync("/api/referrals", BrokerApp.Referral())).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Keyed(mai).GetAsync("/api/me")).StatusCode);
        var refused = await Keyed(Coordinator.Key).PostAsJsonAsync("/api/admin/staff", new { name = "Lek", role = "caseworker", organisationId = "demo-org" });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await Keyed(Coordinator.Key).PostAsync("/api/admin/organisations/demo-org/activate", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Keyed(mai).GetAsync("/api/referrals")).StatusCode);
    }

    [Fact]
    public async Task An_organisation_manages_its_own_caseworkers_keys_with_its_system_key_only()
    {
        var issued = await IssueAsync(new { name = "Mai" }, BrokerApp.OrgKey, "/api/staff");
        Assert.Equal("caseworker", issued.GetProperty("role").GetString());
        Assert.Equal("demo-org", issued.GetProperty("organisationId").GetString());
        var mai = KeyOf(issued);
        Assert.Equal(HttpStatusCode.Created, (await Keyed(mai).PostAsJsonAsync("/api/referrals", BrokerApp.Referral())).StatusCode);

        // Another organisation's caseworker and a coordinator are not in its list, nor its to revoke.
        var ben = await IssueAsync(new { name = "Ben" }, BrokerApp.OtherOrgKey, "/api/staff");
        var asha = await IssueAsync(new { name = "Asha", role = "coordinator" });
        Assert.Equal([IdOf(issued)], (await ListAsync(BrokerApp.OrgKey, "/api/staff")).Select(IdOf));
        Assert.Equal(HttpStatusCode.NotFound, (await _app.Organisation().DeleteAsync($"/api/staff/{IdOf(ben)}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _app.Organisation().DeleteAsync($"/api/staff/{IdOf(asha)}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Keyed(KeyOf(ben)).GetAsync("/api/referrals")).StatusCode);

        // Her own key cannot issue, list or revoke keys: one leaked personal key must not make others.
        HttpResponseMessage[] refused =
        [
            await Keyed(mai).PostAsJsonAsync("/api/staff", new { name = "Someone" }),
            await Keyed(mai).GetAsync("/api/staff"),
            await Keyed(mai).DeleteAsync($"/api/staff/{IdOf(issued)}"),
        ];
        Assert.All(refused, r => Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode));
        Assert.All(refused, r => Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType));
        Assert.Single(await ListAsync(BrokerApp.OrgKey, "/api/staff"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.CreateClient().GetAsync("/api/staff")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await _app.Organisation().DeleteAsync($"/api/staff/{IdOf(issued)}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Keyed(mai).GetAsync("/api/referrals")).StatusCode);
        Assert.Empty(await ListAsync(BrokerApp.OrgKey, "/api/staff"));
    }

    [Fact]
    public async Task Lists_are_newest_first()
    {
        var first = await CaseworkerAsync("First");
        _app.Time.Advance(TimeSpan.FromMinutes(1));
        var second = await IssueAsync(new { name = "Second", role = "coordinator" });
        _app.Time.Advance(TimeSpan.FromMinutes(1));
        var third = await IssueAsync(new { name = "Third" }, BrokerApp.OrgKey, "/api/staff");

        Assert.Equal([IdOf(third), IdOf(second), IdOf(first)], (await ListAsync()).Select(IdOf));
        Assert.Equal([IdOf(third), IdOf(first)], (await ListAsync(BrokerApp.OrgKey, "/api/staff")).Select(IdOf));
    }

    public static TheoryData<string, string> RejectedAdminBodies => new()
    {
        { """{"role":"caseworker","organisationId":"demo-org"}""", "name" },
        { """{"name":"  ","role":"caseworker","organisationId":"demo-org"}""", "name" },
        { """{"name":"Mai\nLine","role":"caseworker","organisationId":"demo-org"}""", "name" },
        { $$"""{"name":"{{new string('a', 101)}}","role":"caseworker","organisationId":"demo-org"}""", "name" },
        { """{"name":"Mai","role":"admin"}""", "role" },
        { """{"name":"Mai"}""", "role" },
        { """{"name":"Mai","role":"caseworker"}""", "organisationId" },
        { """{"name":"Mai","role":"caseworker","organisationId":"nobody"}""", "organisationId" },
        { """{"name":"Asha","role":"coordinator","organisationId":"demo-org"}""", "organisationId" },
    };

    [Theory]
    [MemberData(nameof(RejectedAdminBodies))]
    public async Task A_staff_key_request_that_breaks_a_rule_is_a_422_naming_the_field_and_issues_nothing(string body, string field)
    {
        var response = await Keyed(Coordinator.Key).PostAsync("/api/admin/staff", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal([field], Coordinator.ErrorKeys(await response.Content.ReadFromJsonAsync<JsonElement>()));
        Assert.Empty(await ListAsync());
    }

    [Theory]
    [InlineData("/api/admin/staff", """{"name":"Mai","role":"caseworker","organisationId":"demo-org","email":"mai@example.org"}""", "email")]
    [InlineData("/api/admin/staff", """{"name":5,"role":"coordinator"}""", "name")]
    [InlineData("/api/staff", """{"name":"Mai","organisationId":"other-org"}""", "organisationId")]
    [InlineData("/api/staff", """["Mai"]""", "")]
    public async Task A_body_with_an_unknown_property_or_a_wrong_type_is_a_400_naming_it(string path, string body, string field)
    {
        var key = path == "/api/staff" ? BrokerApp.OrgKey : Coordinator.Key;
        var response = await Keyed(key).PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal([field], Coordinator.ErrorKeys(await response.Content.ReadFromJsonAsync<JsonElement>()));
        Assert.Empty(await ListAsync());
    }

    [Fact]
    public async Task An_organisations_request_without_a_name_is_a_422_naming_it()
    {
        var response = await _app.Organisation().PostAsJsonAsync("/api/staff", new { name = "" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal(["name"], Coordinator.ErrorKeys(await response.Content.ReadFromJsonAsync<JsonElement>()));
    }

    [Fact]
    public async Task An_unknown_staff_id_is_a_404_for_the_coordinator()
    {
        var response = await Keyed(Coordinator.Key).DeleteAsync("/api/admin/staff/stf_00000000000000000000000000000000");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Last_use_is_kept_to_the_day_written_once_a_day_and_a_failed_write_is_tried_again_an_hour_later_not_on_every_request()
    {
        var mai = await CaseworkerAsync("Mai");
        var lek = await CaseworkerAsync("Lek");
        var caseworker = Keyed(KeyOf(mai));

        _app.Time.Advance(TimeSpan.FromHours(3)); // 15:00 on the first day
        Assert.Equal(HttpStatusCode.OK, (await caseworker.GetAsync("/api/referrals")).StatusCode);
        await _watch.NextAsync(IdOf(mai));
        var listed = (await ListAsync()).Single(s => IdOf(s) == IdOf(mai));
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero), listed.GetProperty("lastUsedAt").GetDateTimeOffset());

        // Later the same day: however many requests, nothing more is written.
        for (var i = 0; i < 5; i++)
        {
            _app.Time.Advance(TimeSpan.FromMinutes(40));
            Assert.Equal(HttpStatusCode.OK, (await caseworker.GetAsync("/api/me")).StatusCode);
        }

        // The next day, one write; and when it fails, the next try comes an hour later, not with the next request.
        _app.Time.Advance(TimeSpan.FromHours(8)); // 02:20 on the second day
        _watch.FailNext = 1;
        Assert.Equal(HttpStatusCode.OK, (await caseworker.GetAsync("/api/referrals")).StatusCode);
        await _watch.NextAsync(IdOf(mai));
        _app.Time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(HttpStatusCode.OK, (await caseworker.GetAsync("/api/referrals")).StatusCode);
        // Uses are written in order: once Lek's is seen, a write of Mai's queued before it would have been too.
        Assert.Equal(HttpStatusCode.OK, (await Keyed(KeyOf(lek)).GetAsync("/api/me")).StatusCode);
        await _watch.NextAsync(IdOf(lek));
        Assert.Equal(3, _watch.Attempts.Count);

        _app.Time.Advance(TimeSpan.FromMinutes(31));
        Assert.Equal(HttpStatusCode.OK, (await caseworker.GetAsync("/api/referrals")).StatusCode);
        await _watch.NextAsync(IdOf(mai));
        Assert.Equal(
            [(IdOf(mai), BrokerApp.Start.Date), (IdOf(mai), BrokerApp.Start.Date.AddDays(1)), (IdOf(lek), BrokerApp.Start.Date.AddDays(1)), (IdOf(mai), BrokerApp.Start.Date.AddDays(1))],
            _watch.Attempts.Select(a => (a.StaffId, a.Day.UtcDateTime)));
        Assert.Equal(BrokerApp.Start.AddDays(1).Date, (await ListAsync()).Single(s => IdOf(s) == IdOf(mai)).GetProperty("lastUsedAt").GetDateTimeOffset().UtcDateTime);
    }

    [Fact]
    public async Task A_request_never_waits_for_its_last_use_to_be_written()
    {
        var mai = await CaseworkerAsync();
        _watch.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // The write is held by the store; the request answers all the same.
        Assert.Equal(HttpStatusCode.OK, (await Keyed(KeyOf(mai)).GetAsync("/api/referrals")).StatusCode);
        Assert.Equal(JsonValueKind.Null, (await ListAsync()).Single().GetProperty("lastUsedAt").ValueKind);

        _watch.Hold.SetResult();
        await _watch.NextAsync(IdOf(mai));
        Assert.Equal(JsonValueKind.String, (await ListAsync()).Single().GetProperty("lastUsedAt").ValueKind);
    }

    [Fact]
    public async Task A_use_recorded_after_a_revocation_does_not_bring_the_key_back()
    {
        var mai = await CaseworkerAsync();
        _watch.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Assert.Equal(HttpStatusCode.OK, (await Keyed(KeyOf(mai)).GetAsync("/api/referrals")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Keyed(Coordinator.Key).DeleteAsync($"/api/admin/staff/{IdOf(mai)}")).StatusCode);

        _watch.Hold.SetResult();
        await _watch.NextAsync(IdOf(mai));
        Assert.Empty(await ListAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await Keyed(KeyOf(mai)).GetAsync("/api/referrals")).StatusCode);
    }

    [Fact]
    public async Task Keys_are_never_logged_nor_stored_only_their_hashes()
    {
        var keys = new List<string>
        {
            KeyOf(await CaseworkerAsync()),
            KeyOf(await IssueAsync(new { name = "Asha", role = "coordinator" })),
            KeyOf(await IssueAsync(new { name = "Lek" }, BrokerApp.OrgKey, "/api/staff")),
        };
        foreach (var key in keys)
        {
            Assert.Equal(HttpStatusCode.OK, (await Keyed(key).GetAsync("/api/me")).StatusCode);
        }

        await _watch.NextAsync(3);
        var revoked = IdOf((await ListAsync()).First());
        Assert.Equal(HttpStatusCode.NoContent, (await Keyed(Coordinator.Key).DeleteAsync($"/api/admin/staff/{revoked}")).StatusCode);

        var stored = Encoding.UTF8.GetString(await _app.DatabaseBytesAsync());
        foreach (var key in keys)
        {
            Assert.DoesNotContain(_app.Logs, line => line.Contains(key, StringComparison.Ordinal));
            Assert.DoesNotContain(key, stored, StringComparison.Ordinal);
        }

        // The search finds what is there: a kept key's hash; and the revocation is logged by id.
        Assert.Contains(ApiKeys.Hash(keys[1]), stored, StringComparison.Ordinal);
        Assert.Contains(_app.Logs, line => line.Contains(revoked, StringComparison.Ordinal) && line.Contains("revoked", StringComparison.Ordinal));
    }

    /// <summary>Watches the store's last-use writes: each one seen, optionally held or failed.</summary>
    private sealed class StaffUseWatch : IDisposable
    {
        private readonly SemaphoreSlim _seen = new(0);
        private int _waited;

        public ConcurrentQueue<(string StaffId, DateTimeOffset Day)> Attempts { get; } = new();

        /// <summary>While set and not completed, the next writes wait for it.</summary>
        public TaskCompletionSource? Hold { get; set; }

        public int FailNext { get; set; }

        public void Dispose() => _seen.Dispose();

        public void Install(IServiceCollection services)
        {
            var registered = services.Last(d => d.ServiceType == typeof(IDirectoryStore));
            services.Remove(registered);
            services.AddSingleton<IDirectoryStore>(sp => new Store(this, (IDirectoryStore)registered.ImplementationFactory!(sp)));
        }

        /// <summary>Waits (with a deadline) until the next write attempt is done and checks whose it was.</summary>
        public async Task NextAsync(string staffId)
        {
            Assert.True(await _seen.WaitAsync(TimeSpan.FromSeconds(30)), "No last use was written.");
            Assert.Equal(staffId, Attempts.ElementAt(_waited++).StaffId);
        }

        public async Task NextAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                Assert.True(await _seen.WaitAsync(TimeSpan.FromSeconds(30)), "No last use was written.");
                _waited++;
            }
        }

        private sealed class Store(StaffUseWatch watch, IDirectoryStore inner) : IDirectoryStore
        {
            public Task<DirectoryContents> LoadAsync(CancellationToken ct) => inner.LoadAsync(ct);
            public Task SaveOrganisationAsync(OrganisationAccount account, CancellationToken ct) => inner.SaveOrganisationAsync(account, ct);
            public Task SavePartnerAsync(Partner partner, CancellationToken ct) => inner.SavePartnerAsync(partner, ct);
            public Task AddFlagAsync(PartnerFlag flag, CancellationToken ct) => inner.AddFlagAsync(flag, ct);
            public Task<IReadOnlyList<PartnerFlag>> FlagsAsync(string partnerId, CancellationToken ct) => inner.FlagsAsync(partnerId, ct);
            public Task ClearFlagsAsync(string partnerId, CancellationToken ct) => inner.ClearFlagsAsync(partnerId, ct);
            public Task SaveStaffAsync(StaffCredential credential, CancellationToken ct) => inner.SaveStaffAsync(credential, ct);
            public Task DeleteStaffAsync(string staffId, CancellationToken ct) => inner.DeleteStaffAsync(staffId, ct);

            public async Task RecordStaffUseAsync(string staffId, DateTimeOffset day, CancellationToken ct)
            {
                try
                {
                    if (watch.Hold is { } hold)
                    {
                        await hold.Task;
                    }

                    if (watch.FailNext > 0)
                    {
                        watch.FailNext--;
                        throw new TimeoutException("The store did not answer.");
                    }

                    await inner.RecordStaffUseAsync(staffId, day, ct);
                }
                finally
                {
                    watch.Attempts.Enqueue((staffId, day));
                    watch._seen.Release();
                }
            }
        }
    }
}
