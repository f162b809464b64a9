using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Xml.Linq;
using Microsoft.Playwright;
using ReferralBroker.Tests.Integration;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace ReferralBroker.Tests.Browser;

/// <summary>
/// The coordinator's console at /admin in Chromium: its journeys under the real CSP, the whole of it by keyboard
/// alone, axe in light and dark on every section and state, and a language other than English throughout.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class AdminConsoleTests(Chromium chromium, ITestOutputHelper output) : IDisposable
{
    private readonly BrokerApp _app = new(realServer: true, settings: new Dictionary<string, string?>
    {
        ["Broker:Admin:CoordinatorKeySha256"] = Referrals.ApiKeys.Hash(Coordinator.Key),
    });

    public void Dispose() => _app.Dispose();

    private string AdminPage(string lang = "en") => $"{Pages.Origin(_app)}/admin?lang={lang}";

    private static async Task SignInAsync(IPage page, string key = Coordinator.Key)
    {
        await page.GetByLabel("The coordinator's key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
    }

    private static ILocator Row(IPage page, string section, string text) => page.Locator($"#{section} tbody tr", new() { HasText = text });

    [Fact]
    public async Task The_key_is_checked_when_entered_and_an_unknown_or_organisation_key_is_told_apart()
    {
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync(AdminPage());
        await Expect(page.Locator("#console")).ToBeHiddenAsync();

        await SignInAsync(page, "not-a-key-at-all");
        await Expect(page.Locator("#key-error")).ToHaveTextAsync("This key is not recognised. Check it and try again.");
        await SignInAsync(page, BrokerApp.OrgKey);
        await Expect(page.Locator("#key-error")).ToHaveTextAsync("This is an organisation's key, not the coordinator's. Sign in with the coordinator's key.");
        await Expect(page.Locator("#console")).ToBeHiddenAsync();
        Assert.Null(await page.EvaluateAsync<string?>("sessionStorage.getItem('referral-broker.staff-key')"));

        await SignInAsync(page);
        await Expect(Row(page, "organisations", "Another organisation")).ToBeVisibleAsync();
        Assert.Equal(Coordinator.Key, await page.EvaluateAsync<string>("sessionStorage.getItem('referral-broker.staff-key')"));

        // Asked once per tab: a reload opens the console again without asking.
        await page.ReloadAsync();
        await Expect(Row(page, "organisations", "Another organisation")).ToBeVisibleAsync();
        await Expect(page.Locator("#signin")).ToBeHiddenAsync();

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out and forget the key" }).ClickAsync();
        await Expect(page.Locator("#signin")).ToBeVisibleAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("Signed out. This tab has forgotten the key.");
        Assert.Null(await page.EvaluateAsync<string?>("sessionStorage.getItem('referral-broker.staff-key')"));
        Assert.Equal(0, await page.Locator("#organisation-rows tr").CountAsync());
        await page.ReloadAsync();
        await Expect(page.Locator("#signin")).ToBeVisibleAsync();
        Assert.Equal(0, await page.EvaluateAsync<int>("localStorage.length"));
        Assert.Equal("", await page.EvaluateAsync<string>("document.cookie"));
        // The key went only in the Authorization header, never in a URL.
        Assert.DoesNotContain(tab.Requests, r => r.Url.Contains(Coordinator.Key, StringComparison.Ordinal));
        AssertOnlyRefusals(tab, 401, 403);
    }

    [Fact]
    public async Task The_coordinator_adds_a_partner_pauses_it_and_issues_an_organisation_key_and_revokes_it_all_in_the_console()
    {
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync(AdminPage());
        await SignInAsync(page);

        // A new organisation, then its first key, shown once.
        await page.GetByRole(AriaRole.Button, new() { Name = "Add an organisation" }).ClickAsync();
        await page.Locator("#org-id").FillAsync("drop-in-north");
        await page.Locator("#org-name").FillAsync("Drop-in North");
        await page.Locator("#org-email").FillAsync("not an address");
        await Expect(page.Locator("#org-named")).ToBeCheckedAsync();
        await page.GetByLabel("Name this organisation to the partners it refers people to").UncheckAsync();
        await page.GetByLabel("How a partner reaches the organisation about a referral").FillAsync("Call our drop-in, Mon-Fri 10-18");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save the organisation" }).ClickAsync();
        await Expect(page.Locator("#org-email-error")).ToBeVisibleAsync();
        await Expect(page.Locator("#org-email")).ToHaveAttributeAsync("aria-invalid", "true");
        await page.Locator("#org-email").FillAsync("staff@drop-in-north.example");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save the organisation" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("Drop-in North is saved.");
        await Expect(Row(page, "organisations", "Drop-in North")).ToContainTextAsync("No key");
        await Expect(Row(page, "organisations", "Drop-in North")).ToContainTextAsync("Not named to partners");
        var organisation = (await Coordinator.Client(_app).GetFromJsonAsync<JsonElement[]>("/api/admin/organisations"))!.Single(o => o.GetProperty("id").GetString() == "drop-in-north");
        Assert.Equal("staff@drop-in-north.example", organisation.GetProperty("notifications").GetProperty("email").GetString());
        Assert.False(organisation.GetProperty("partnerContact").GetProperty("named").GetBoolean());
        Assert.Equal("Call our drop-in, Mon-Fri 10-18", organisation.GetProperty("partnerContact").GetProperty("contact").GetString());

        await Row(page, "organisations", "Drop-in North").GetByRole(AriaRole.Button, new() { Name = "Issue a key for Drop-in North" }).ClickAsync();
        await Expect(page.Locator("#new-key-title")).ToHaveTextAsync("New key for Drop-in North");
        await Expect(page.Locator("#new-key")).ToContainTextAsync("it is shown only this once");
        var key = (await page.Locator("#new-key-value").TextContentAsync())!;
        Assert.StartsWith("rbk_", key, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await _app.Organisation(key).GetAsync("/api/referrals")).StatusCode);
        await page.GetByRole(AriaRole.Button, new() { Name = "I have copied it: hide it" }).ClickAsync();
        await Expect(page.Locator("#new-key")).ToBeHiddenAsync();
        await Expect(page.Locator("#new-key-value")).ToBeEmptyAsync();

        // Revoking asks first; cancelling changes nothing, confirming does it.
        var revoke = Row(page, "organisations", "Drop-in North").GetByRole(AriaRole.Button, new() { Name = "Revoke the key of Drop-in North" });
        await revoke.ClickAsync();
        await Expect(page.Locator("#confirm-text")).ToHaveTextAsync("Revoke the key of Drop-in North? Nothing they run with it will work until you issue a new key.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await Expect(page.Locator("#confirm")).ToBeHiddenAsync();
        Assert.Equal(HttpStatusCode.OK, (await _app.Organisation(key).GetAsync("/api/referrals")).StatusCode);
        await revoke.ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, revoke the key" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("The key of Drop-in North is revoked.");
        await Expect(Row(page, "organisations", "Drop-in North")).ToContainTextAsync("No key");
        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.Organisation(key).GetAsync("/api/referrals")).StatusCode);

        // A partner with its HSDS fields; a field the API refuses is named next to it.
        await page.GetByRole(AriaRole.Link, new() { Name = "Partners" }).ClickAsync();
        await Expect(page.Locator("#partners-title")).ToBeFocusedAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Add a partner" }).ClickAsync();
        await page.Locator("#partner-id").FillAsync("clinic-north");
        await page.Locator("#partner-name").FillAsync("North community clinic");
        await page.Locator("#partner-description").FillAsync("Walk-in testing, a woman doctor on Tuesdays");
        await page.Locator("#partner-email").FillAsync("intake@clinic-north.example.org");
        await page.Locator("#partner-public-email").FillAsync("hello@clinic-north.example.org");
        await page.Locator("#partner-areas").FillAsync("Bangkok\nPattaya, Chonburi");
        await page.Locator("#partner-hours").FillAsync("Mon-Fri 10:00-18:00");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save the partner" }).ClickAsync();
        await Expect(page.Locator("#partner-categories-error")).ToContainTextAsync("referral-broker-category");
        await page.GetByLabel("Health", new() { Exact = true }).CheckAsync();
        await page.GetByLabel("English", new() { Exact = true }).CheckAsync();
        await page.Locator("#partner-other-languages").FillAsync("my");
        await page.GetByLabel("No ID needed").CheckAsync();
        await page.GetByLabel("Led by sex workers").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Save the partner" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("North community clinic is saved.");
        var row = Row(page, "partners", "North community clinic");
        await Expect(row).ToContainTextAsync("Health");
        await Expect(row).ToContainTextAsync("No ID needed");
        await Expect(row).ToContainTextAsync("Active");

        var saved = await Coordinator.Client(_app).GetFromJsonAsync<JsonElement>("/api/admin/partners/clinic-north");
        var service = saved.GetProperty("service");
        Assert.Equal("intake@clinic-north.example.org", saved.GetProperty("referralEmail").GetString());
        Assert.Equal("hello@clinic-north.example.org", service.GetProperty("email").GetString());
        Assert.DoesNotContain("intake@", service.GetRawText(), StringComparison.Ordinal); // the intake address is never in the HSDS record
        Assert.Equal(["en", "my"], service.GetProperty("languages").EnumerateArray().Select(l => l.GetProperty("code").GetString()));
        Assert.Equal(["Bangkok", "Pattaya, Chonburi"], service.GetProperty("service_areas").EnumerateArray().Select(a => a.GetProperty("name").GetString()));
        Assert.Equal(
            ["referral-broker-id:slug", "referral-broker-category:health", "referral-broker-safety:no-id-required", "referral-broker-safety:sex-worker-led"],
            service.GetProperty("attributes").EnumerateArray().Select(a => a.GetProperty("taxonomy_term"))
                .Select(term => $"{term.GetProperty("taxonomy").GetString()}:{term.GetProperty("code").GetString()}"));

        // Paused: no new referrals; the reason is shown; then removed, after confirming.
        await row.GetByRole(AriaRole.Button, new() { Name = "Pause North community clinic" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("North community clinic is paused: it gets no new referrals.");
        await Expect(row).ToContainTextAsync("Paused by the coordinator since 23 November 2026");
        Assert.Equal("coordinator", (await Coordinator.Client(_app).GetFromJsonAsync<JsonElement>("/api/admin/partners/clinic-north")).GetProperty("pause").GetProperty("cause").GetString());
        Assert.Equal(HttpStatusCode.UnprocessableEntity,
            (await _app.Organisation().PostAsJsonAsync("/api/referrals", BrokerApp.Referral(partnerId: "clinic-north"))).StatusCode);

        await row.GetByRole(AriaRole.Button, new() { Name = "Remove North community clinic" }).ClickAsync();
        await Expect(page.Locator("#confirm-text")).ToContainTextAsync("This cannot be undone.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, remove the partner" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("North community clinic is removed from the directory.");
        await Expect(row).ToHaveCountAsync(0);
        Assert.Equal(HttpStatusCode.NotFound, (await Coordinator.Client(_app).GetAsync("/api/admin/partners/clinic-north")).StatusCode);
        AssertOnlyRefusals(tab, 422);
    }

    [Fact]
    public async Task Flags_across_the_network_are_listed_with_who_why_and_when_and_the_partner_is_resumed_from_there()
    {
        await _app.Organisation().PostAsJsonAsync("/api/partners/demo-legal/flags", new { reason = "demanded-identity-documents" });
        await _app.Organisation(BrokerApp.OtherOrgKey).PostAsJsonAsync("/api/partners/demo-legal/flags", new { reason = "contacted-police-or-immigration" });
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync(AdminPage() + "#flags");
        await SignInAsync(page);

        var rows = page.Locator("#flag-rows tr");
        await Expect(rows).ToHaveCountAsync(2);
        await Expect(rows.Nth(0)).ToContainTextAsync("Demo migrant legal aid");
        await Expect(page.Locator("#flag-rows")).ToContainTextAsync("Another organisation");
        await Expect(page.Locator("#flag-rows")).ToContainTextAsync("Demanded identity documents");
        await Expect(page.Locator("#flag-rows")).ToContainTextAsync("Contacted police or immigration");
        await Expect(rows.Nth(0)).ToContainTextAsync("23 November 2026");
        await Expect(rows.Nth(0)).ToContainTextAsync("Paused by flags since");

        await rows.Nth(0).GetByRole(AriaRole.Button, new() { Name = "Resume Demo migrant legal aid" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("Demo migrant legal aid is resumed, and its flags are cleared.");
        await Expect(page.Locator("#flags-none")).ToBeVisibleAsync();
        Assert.Empty((await Coordinator.Client(_app).GetFromJsonAsync<JsonElement>("/api/admin/flags")).EnumerateArray());
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task The_directory_downloads_as_json_and_csv_and_a_refused_import_names_its_rows()
    {
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync(AdminPage() + "#directory");
        await SignInAsync(page);

        var json = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Download as JSON" }).ClickAsync());
        Assert.Equal("directory.json", json.SuggestedFilename);
        var exported = JsonDocument.Parse(await File.ReadAllTextAsync((await json.PathAsync())!)).RootElement;
        Assert.Contains("demo-health", exported.GetProperty("services").EnumerateArray()
            .Select(s => Coordinator.SlugOf(System.Text.Json.Nodes.JsonNode.Parse(s.GetRawText())!)));
        var csv = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Download as CSV" }).ClickAsync());
        Assert.Equal("directory.csv", csv.SuggestedFilename);
        var csvText = await File.ReadAllTextAsync((await csv.PathAsync())!);
        Assert.Equal(await Coordinator.Client(_app).GetStringAsync("/api/admin/directory.csv"), csvText);

        // Two rows broken: nothing is imported, each error is shown beside the row it names.
        var lines = csvText.TrimEnd().Split("\r\n");
        var broken = string.Join("\r\n", lines[0], lines[1].Replace("intake@", "intake-at-", StringComparison.Ordinal), lines[2],
            "clinic-new,,,intake@new.example.org,,active,,,health,,en,,,") + "\r\n";
        await page.Locator("#import-file").SetInputFilesAsync(new FilePayload { Name = "directory.csv", MimeType = "text/csv", Buffer = System.Text.Encoding.UTF8.GetBytes(broken) });
        await page.GetByRole(AriaRole.Button, new() { Name = "Import the file" }).ClickAsync();
        await Expect(page.Locator("#import-errors")).ToBeVisibleAsync();
        var errorRows = page.Locator("#import-error-rows tr");
        await Expect(errorRows).ToHaveCountAsync(2);
        await Expect(errorRows.Nth(0).Locator("th")).ToHaveTextAsync("Row 2");
        await Expect(errorRows.Nth(0)).ToContainTextAsync(lines[1].Split(',')[0]);
        await Expect(errorRows.Nth(0)).ToContainTextAsync("email:");
        await Expect(errorRows.Nth(1).Locator("th")).ToHaveTextAsync("Row 4");
        await Expect(errorRows.Nth(1)).ToContainTextAsync("clinic-new");
        await Expect(errorRows.Nth(1)).ToContainTextAsync("name:");
        Assert.Equal(HttpStatusCode.NotFound, (await Coordinator.Client(_app).GetAsync("/api/admin/partners/clinic-new")).StatusCode);

        var fixedCsv = string.Join("\r\n", lines[0], lines[2], "clinic-new,New clinic,,intake@new.example.org,,active,,,health,,en,,,") + "\r\n";
        await page.Locator("#import-file").SetInputFilesAsync(new FilePayload { Name = "directory.csv", MimeType = "text/csv", Buffer = System.Text.Encoding.UTF8.GetBytes(fixedCsv) });
        await page.GetByRole(AriaRole.Button, new() { Name = "Import the file" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("Imported: 1 added, 1 updated.");
        await Expect(page.Locator("#import-errors")).ToBeHiddenAsync();
        Assert.Equal(HttpStatusCode.OK, (await Coordinator.Client(_app).GetAsync("/api/admin/partners/clinic-new")).StatusCode);
        AssertOnlyRefusals(tab, 422);
    }

    /// <summary>
    /// Tab, Shift+Tab, Enter and Space only: sign in, every section, an action in each, the confirmation dialog,
    /// and a visible focus ring on everything focused on the way.
    /// </summary>
    [Fact]
    public async Task The_whole_console_works_by_keyboard_alone_with_the_focus_always_visible()
    {
        await _app.Organisation().PostAsJsonAsync("/api/partners/demo-health/flags", new { reason = "exposed-client-identity" });
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        var keyboard = page.Keyboard;
        await page.GotoAsync(AdminPage());

        await TabToAsync(page, "The coordinator's key");
        await keyboard.TypeAsync(Coordinator.Key);
        await keyboard.PressAsync("Enter");
        await Expect(Row(page, "organisations", "Another organisation")).ToBeVisibleAsync();

        // Organisations: a new key for one, after confirming in the dialog (Cancel has the focus first).
        await TabToAsync(page, "Issue a new key for Another organisation");
        await keyboard.PressAsync("Enter");
        await Expect(page.Locator("#confirm")).ToBeVisibleAsync();
        await Expect(page.Locator("#confirm-no")).ToBeFocusedAsync();
        await keyboard.PressAsync("Shift+Tab");
        await AssertFocusVisibleAsync(page, "Yes, issue a new key");
        await keyboard.PressAsync("Space");
        await Expect(page.Locator("#new-key-title")).ToBeFocusedAsync();
        await Expect(page.Locator("#new-key-value")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^rbk_"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.Organisation(BrokerApp.OtherOrgKey).GetAsync("/api/referrals")).StatusCode);
        await TabToAsync(page, "I have copied it: hide it");
        await keyboard.PressAsync("Enter");
        await Expect(page.Locator("#new-key")).ToBeHiddenAsync();

        // Escape answers no.
        await TabToAsync(page, "Deactivate Another organisation");
        await keyboard.PressAsync("Enter");
        await Expect(page.Locator("#confirm")).ToBeVisibleAsync();
        await keyboard.PressAsync("Escape");
        await Expect(page.Locator("#confirm")).ToBeHiddenAsync();
        Assert.Contains(await Coordinator.Client(_app).GetFromJsonAsync<JsonElement[]>("/api/admin/organisations") ?? [],
            o => o.GetProperty("id").GetString() == "other-org" && o.GetProperty("active").GetBoolean());

        // Partners: pause one.
        await TabToAsync(page, "Partners");
        await keyboard.PressAsync("Enter");
        await Expect(page.Locator("#partners-title")).ToBeFocusedAsync();
        await TabToAsync(page, "Pause Demo jobs and language programme");
        await keyboard.PressAsync("Enter");
        await Expect(Row(page, "partners", "Demo jobs and language programme")).ToContainTextAsync("Paused by the coordinator");

        // Flags: resume the flagged one from there.
        await TabToAsync(page, "Flags", backwards: true);
        await keyboard.PressAsync("Enter");
        await Expect(page.Locator("#flags-title")).ToBeFocusedAsync();
        await Expect(page.Locator("#flag-rows")).ToContainTextAsync("Exposed who a client is");
        await TabToAsync(page, "Pause Demo community clinic");
        await keyboard.PressAsync("Space");
        await Expect(page.Locator("#message")).ToHaveTextAsync("Demo community clinic is paused: it gets no new referrals.");

        // Directory: a download by keyboard.
        await TabToAsync(page, "Directory", backwards: true);
        await keyboard.PressAsync("Enter");
        await Expect(page.Locator("#directory-title")).ToBeFocusedAsync();
        await TabToAsync(page, "Download as CSV");
        var download = await page.RunAndWaitForDownloadAsync(() => keyboard.PressAsync("Enter"));
        Assert.Equal("directory.csv", download.SuggestedFilename);

        // Staff: a caseworker's personal key, issued by keyboard (caseworker and the first organisation are preselected).
        await TabToAsync(page, "Staff", backwards: true);
        await keyboard.PressAsync("Enter");
        await Expect(page.Locator("#staff-title")).ToBeFocusedAsync();
        await TabToAsync(page, "Name");
        await keyboard.TypeAsync("Lek");
        await TabToAsync(page, "Issue the key");
        await keyboard.PressAsync("Enter");
        await Expect(page.Locator("#new-staff-key-title")).ToBeFocusedAsync();
        await Expect(Row(page, "staff", "Lek")).ToContainTextAsync("Demo outreach organisation");
        await TabToAsync(page, "Copy the key");
        await keyboard.PressAsync("Space");
        await Expect(page.Locator("#message")).ToContainTextAsync("The key is");

        // Sign out.
        await TabToAsync(page, "Sign out and forget the key", backwards: true);
        await keyboard.PressAsync("Enter");
        await Expect(page.Locator("#key")).ToBeFocusedAsync();
        tab.AssertNoErrors();
    }

    [Theory]
    [InlineData(ColorScheme.Light)]
    [InlineData(ColorScheme.Dark)]
    public async Task Every_section_and_state_of_the_console_has_no_serious_or_critical_violations(ColorScheme scheme)
    {
        await _app.Organisation().PostAsJsonAsync("/api/partners/demo-health/flags", new { reason = "exposed-client-identity" });
        await using var tab = await chromium.OpenAsync(new()
        {
            BypassCSP = true, // only to inject axe; the other tests run under the real CSP
            ColorScheme = scheme,
            ViewportSize = new() { Width = 1280, Height = 900 },
            Locale = "en-GB",
        });
        var page = tab.Page;
        async Task CheckAsync(string state)
        {
            if (scheme == ColorScheme.Light)
            {
                await page.ScreenshotAsync(new() { Path = Pages.ScreenshotPath("admin-" + state), FullPage = true });
            }

            await page.AddScriptTagAsync(new() { Path = Pages.AxeScript });
            await Axe.AssertNoSeriousViolationsAsync(page, $"{state} ({scheme})", output);
        }

        await page.GotoAsync(AdminPage());
        await CheckAsync("sign-in");
        await SignInAsync(page, "not-a-key-at-all");
        await Expect(page.Locator("#key-error")).ToBeVisibleAsync();
        await CheckAsync("sign-in-refused");
        await SignInAsync(page);
        await Expect(Row(page, "organisations", "Another organisation")).ToBeVisibleAsync();
        await CheckAsync("organisations");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add an organisation" }).ClickAsync();
        await page.Locator("#org-id").FillAsync("drop-in-north");
        await page.Locator("#org-webhook").FillAsync("http://10.0.0.1/hook");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save the organisation" }).ClickAsync();
        await Expect(page.Locator("#org-name-error")).ToBeVisibleAsync();
        await CheckAsync("organisation-form-errors");
        await Row(page, "organisations", "Another organisation").GetByRole(AriaRole.Button, new() { Name = "Issue a new key for Another organisation" }).ClickAsync();
        await Expect(page.Locator("#confirm")).ToBeVisibleAsync();
        await CheckAsync("confirm");
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, issue a new key" }).ClickAsync();
        await Expect(page.Locator("#new-key")).ToBeVisibleAsync();
        await CheckAsync("new-key");

        await page.GetByRole(AriaRole.Link, new() { Name = "Partners" }).ClickAsync();
        await Expect(Row(page, "partners", "Demo community clinic")).ToBeVisibleAsync();
        await Row(page, "partners", "Demo migrant legal aid").GetByRole(AriaRole.Button, new() { Name = "Pause Demo migrant legal aid" }).ClickAsync();
        await Expect(Row(page, "partners", "Demo migrant legal aid")).ToContainTextAsync("Paused by the coordinator");
        await CheckAsync("partners");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add a partner" }).ClickAsync();
        await page.Locator("#partner-id").FillAsync("clinic-north");
        await page.Locator("#partner-email").FillAsync("nowhere");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save the partner" }).ClickAsync();
        await Expect(page.Locator("#partner-email-error")).ToBeVisibleAsync();
        await CheckAsync("partner-form-errors");

        await page.GetByRole(AriaRole.Link, new() { Name = "Flags" }).ClickAsync();
        await Expect(page.Locator("#flag-rows tr")).ToHaveCountAsync(1);
        await CheckAsync("flags");

        await page.GetByRole(AriaRole.Link, new() { Name = "Directory" }).ClickAsync();
        await page.Locator("#import-file").SetInputFilesAsync(new FilePayload
        {
            Name = "directory.json", MimeType = "application/json",
            Buffer = System.Text.Encoding.UTF8.GetBytes("""{"services":[{"id":"clinic-x","name":"X","email":"bad"}]}"""),
        });
        await page.GetByRole(AriaRole.Button, new() { Name = "Import the file" }).ClickAsync();
        await Expect(page.Locator("#import-errors")).ToBeVisibleAsync();
        await CheckAsync("directory-import-errors");

        await page.GetByRole(AriaRole.Link, new() { Name = "Staff" }).ClickAsync();
        await Expect(page.Locator("#staff-title")).ToBeFocusedAsync();
        await CheckAsync("staff");
    }

    /// <summary>Every section in Spanish: no key name, and no English sentence of the console, anywhere on the page.</summary>
    [Fact]
    public async Task In_another_language_every_section_shows_its_words_and_no_key_names_or_english()
    {
        await _app.Organisation().PostAsJsonAsync("/api/partners/demo-health/flags", new { reason = "exposed-client-identity" });
        var english = XDocument.Load(Path.Combine(Pages.RepositoryRoot, "functions", "ReferralBroker.Http", "Pages", "AdminText.resx")).Root!
            .Elements("data").ToDictionary(d => (string)d.Attribute("name")!, d => (string)d.Element("value")!);
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync(AdminPage("es"));
        Assert.Equal("es", await page.GetAttributeAsync("html", "lang"));
        await page.Locator("#key").FillAsync(Coordinator.Key);
        await page.Locator("#signin-form button").ClickAsync();
        await Expect(Row(page, "organisations", "Another organisation")).ToBeVisibleAsync();

        foreach (var section in new[] { "organisations", "partners", "flags", "directory", "staff" })
        {
            await page.Locator($".staff-nav a[href='#{section}']").ClickAsync();
            await Expect(page.Locator($"#{section}-title")).ToBeFocusedAsync();
            if (section is "partners")
            {
                await page.Locator("#add-partner").ClickAsync();
            }

            if (section is "flags")
            {
                await Expect(page.Locator("#flag-rows tr")).ToHaveCountAsync(1);
            }

            var text = await page.Locator("body").InnerTextAsync();
            // As a word of its own: "Edit" is a key, "Editar" the Spanish for it.
            Assert.Empty(english.Keys.Where(k => System.Text.RegularExpressions.Regex.IsMatch(text, $@"(?<![\p{{L}}\d_-]){System.Text.RegularExpressions.Regex.Escape(k)}(?![\p{{L}}\d_-])"))
                .Select(k => $"{section}: key {k}"));
            // Words of a few letters ("Id", "Email: {0}") may be the same in both languages; sentences may not.
            Assert.Empty(english.Values.Where(v => v.Length > 16 && !v.Contains('{', StringComparison.Ordinal) && text.Contains(v, StringComparison.Ordinal))
                .Select(v => $"{section}: English '{v}'"));
        }

        await Expect(page.Locator("#partners")).ToContainTextAsync("Salud");
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task The_staff_section_issues_a_personal_key_shown_once_and_revokes_it()
    {
        await using var tab = await chromium.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync(AdminPage() + "#staff");
        await SignInAsync(page);
        await Expect(page.Locator("#staff-none")).ToBeVisibleAsync();

        // A caseworker of an organisation: the name is required, and the refusal is shown beside it.
        await page.GetByRole(AriaRole.Button, new() { Name = "Issue the key" }).ClickAsync();
        await Expect(page.Locator("#staff-name-error")).ToBeVisibleAsync();
        await page.Locator("#staff-name").FillAsync("Mai");
        await page.GetByLabel("Caseworker").CheckAsync();
        await page.GetByLabel("Organisation", new() { Exact = true }).SelectOptionAsync(new SelectOptionValue { Label = "Demo outreach organisation" });
        await page.GetByRole(AriaRole.Button, new() { Name = "Issue the key" }).ClickAsync();
        await Expect(page.Locator("#new-staff-key-title")).ToHaveTextAsync("New key for Mai");
        var key = (await page.Locator("#new-staff-key-value").TextContentAsync())!;
        Assert.StartsWith("rbs_", key, StringComparison.Ordinal);
        var me = await _app.Organisation(key).GetFromJsonAsync<JsonElement>("/api/me");
        Assert.Equal("caseworker", me.GetProperty("kind").GetString());
        Assert.Equal("demo-org", me.GetProperty("organisation").GetProperty("id").GetString());
        var row = Row(page, "staff", "Mai");
        await Expect(row).ToContainTextAsync("Caseworker");
        await Expect(row).ToContainTextAsync("Demo outreach organisation");
        await Expect(row).ToContainTextAsync("Never");

        // A coordinator has no organisation to choose.
        await page.GetByLabel("Coordinator", new() { Exact = true }).CheckAsync();
        await Expect(page.Locator("#staff-organisation")).ToBeHiddenAsync();
        await page.Locator("#staff-name").FillAsync("Asha");
        await page.GetByRole(AriaRole.Button, new() { Name = "Issue the key" }).ClickAsync();
        await Expect(page.Locator("#new-staff-key-title")).ToHaveTextAsync("New key for Asha");
        await Expect(Row(page, "staff", "Asha")).ToContainTextAsync("Coordinator");
        var asha = (await page.Locator("#new-staff-key-value").TextContentAsync())!;

        // Asha signs in with her own key, in a tab of her own, and is named.
        await using (var own = await chromium.OpenAsync())
        {
            await own.Page.GotoAsync(AdminPage());
            await SignInAsync(own.Page, asha);
            await Expect(own.Page.Locator("#signed-in")).ToHaveTextAsync("Signed in as Asha, coordinator.");
            await Expect(Row(own.Page, "organisations", "Another organisation")).ToBeVisibleAsync();
            own.AssertNoErrors();
        }


        await row.GetByRole(AriaRole.Button, new() { Name = "Revoke the key of Mai" }).ClickAsync();
        await Expect(page.Locator("#confirm-text")).ToHaveTextAsync("Revoke the key of Mai? They cannot sign in with it again.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, revoke the key" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync("The key of Mai is revoked.");
        await Expect(row).ToHaveCountAsync(0);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.Organisation(key).GetAsync("/api/me")).StatusCode);
        await Expect(Row(page, "staff", "Asha")).ToBeVisibleAsync();
        AssertOnlyRefusals(tab, 422);
    }

    /// <summary>
    /// The page's own errors fail the test; a refusal the test provoked on purpose (a wrong key, a field the API
    /// refuses) is reported by Chromium on the console too, and only those statuses are let through.
    /// </summary>
    private static void AssertOnlyRefusals(BrowserTab tab, params int[] statuses) =>
        Assert.True(tab.Errors.All(e => statuses.Any(s => e.Contains($"the server responded with a status of {s} ", StringComparison.Ordinal))),
            "The page reported errors:\n" + string.Join('\n', tab.Errors));

    /// <summary>Presses Tab (or Shift+Tab) until the focused element is the one named, checking each stop shows its focus.</summary>
    private static async Task TabToAsync(IPage page, string name, bool backwards = false)
    {
        for (var i = 0; i < 200; i++)
        {
            await page.Keyboard.PressAsync(backwards ? "Shift+Tab" : "Tab");
            var focused = await FocusedNameAsync(page);
            if (focused == name)
            {
                await AssertFocusVisibleAsync(page, name);
                return;
            }
        }

        Assert.Fail($"Tab never reached '{name}'.");
    }

    private static Task<string> FocusedNameAsync(IPage page) => page.EvaluateAsync<string>("""
        () => {
          const e = document.activeElement;
          if (!e) return '';
          const label = e.labels && e.labels[0];
          return (e.getAttribute('aria-label') || (label && label.textContent) || e.textContent || '').trim();
        }
        """);

    private static async Task AssertFocusVisibleAsync(IPage page, string name)
    {
        Assert.Equal(name, await FocusedNameAsync(page));
        var ring = await page.EvaluateAsync<JsonElement>("""
            () => {
              const s = getComputedStyle(document.activeElement);
              return { style: s.outlineStyle, width: parseFloat(s.outlineWidth), visible: document.activeElement.matches(':focus-visible') };
            }
            """);
        Assert.True(ring.GetProperty("visible").GetBoolean() && ring.GetProperty("style").GetString() != "none" && ring.GetProperty("width").GetDouble() >= 2,
            $"The focus on '{name}' is not visible: {ring}");
    }
}
