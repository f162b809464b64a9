using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ReferralBroker.Lifecycle;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;

namespace ReferralBroker.Tests.Integration;

/// <summary>
/// Input the earlier rules let in: an address that is a list, a CSV cell a spreadsheet runs as a formula, a date
/// at the far end of the calendar.
/// </summary>
public sealed class InputRulesTests : IDisposable
{
    private const string Smuggled = "a@b>,<spy@evil.example";
    private const string CsvHeader = "id,name,description,referral_email,email,status,organization_id,organization_name,categories,attributes,languages,service_areas,hours,accessibility";
    private readonly BrokerApp _app = Coordinator.App();

    public void Dispose() => _app.Dispose();

    public static TheoryData<string> SmuggledAddresses => [Smuggled, "Spy <spy@evil.example>", "a@clinic.example, spy@evil.example", "a@clinic.example\r\nBcc: spy@evil.example", "a@clinic.example (desk)"];

    private async Task<string> DirectoryJsonAsync() => await Coordinator.Client(_app).GetStringAsync("/api/admin/directory");

    private static async Task AssertRefusedAsync(HttpResponseMessage response, string field)
    {
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal([field], Coordinator.ErrorKeys(await response.Content.ReadFromJsonAsync<JsonElement>()));
    }

    [Theory]
    [MemberData(nameof(SmuggledAddresses))]
    public async Task An_address_that_is_not_one_addr_spec_is_a_422_naming_the_field_wherever_it_enters(string address)
    {
        var before = await DirectoryJsonAsync();
        var client = Coordinator.Client(_app);

        await AssertRefusedAsync(await client.PutAsJsonAsync("/api/admin/organisations/demo-org",
            new { name = "Demo", notifications = new { email = address } }), "notifications.email");
        await AssertRefusedAsync(await Coordinator.PutPartnerAsync(_app, Coordinator.Service("clinic-x", email: address)), "service.email");
        await AssertRefusedAsync(await Coordinator.PutPartnerAsync(_app, Coordinator.Service("clinic-x"), referralEmail: address), "referralEmail");
        await AssertRefusedAsync(await client.PostAsJsonAsync("/api/admin/directory",
            new JsonObject { ["services"] = new JsonArray(Coordinator.Service("clinic-x", email: address)) }), "services[0].email");
        var csv = $"{CsvHeader}\r\nclinic-x,Clinic X,,\"{address}\",,active,,,health,,en,,,\r\n";
        await AssertRefusedAsync(await client.PostAsync("/api/admin/directory.csv", new StringContent(csv, Encoding.UTF8, "text/csv")), "rows[0].referral_email");

        Assert.Equal(before, await DirectoryJsonAsync());
        var organisation = (await client.GetFromJsonAsync<JsonElement>("/api/admin/organisations")).EnumerateArray().Single(o => o.GetProperty("id").GetString() == "demo-org");
        Assert.False(organisation.GetProperty("notifications").TryGetProperty("email", out _));
    }

    [Fact]
    public void A_configured_partner_address_that_is_a_list_stops_the_start_naming_the_setting()
    {
        var failure = Coordinator.StartupFailure(new Dictionary<string, string?>
        {
            ["Broker:Partners:0:Id"] = "clinic-z",
            ["Broker:Partners:0:Name"] = "Clinic Z",
            ["Broker:Partners:0:Email"] = Smuggled,
            ["Broker:Partners:0:Categories:0"] = "health",
        });
        Assert.Contains("Broker:Partners:0:Email", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_configured_notification_address_that_is_a_list_stops_the_start_naming_the_setting()
    {
        var failure = Coordinator.StartupFailure(new Dictionary<string, string?> { ["Broker:Organisations:0:NotificationEmail"] = Smuggled });
        Assert.Contains("Broker:Organisations:0:NotificationEmail", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Values_planted_in_the_store_past_the_input_rules_are_neutralised_in_the_CSV_export()
    {
        var store = _app.Services.GetRequiredService<IDirectoryStore>();
        await store.SavePartnerAsync(new Partner("planted", "=1+2", "=HYPERLINK(1)@x", [ServiceCategory.Health], ["en"])
        {
            Description = "@SUM(A1);=1+2",
            Hours = "-3+4",
            Accessibility = "+5",
            ServiceAreas = ["\tcmd"],
        }, CancellationToken.None);
        await _app.Services.GetRequiredService<StoredNetworkDirectory>().RefreshAsync(CancellationToken.None);

        var csv = await Coordinator.Client(_app).GetStringAsync("/api/admin/directory.csv");
        var row = csv.Split("\r\n").Single(line => line.StartsWith("planted,", StringComparison.Ordinal));
        Assert.Equal("planted,'=1+2,'@SUM(A1);'=1+2,'=HYPERLINK(1)@x,,active,,,health,,en,'\tcmd,'-3+4,'+5", row);
        // Split as a spreadsheet in a ',' locale and in a ';' locale would: no cell starts with a formula.
        Assert.DoesNotContain(row.Split(',', ';'), field => field.Length > 0 && field[0] is '=' or '+' or '-' or '@' or '\t' or '\r');
    }

    [Fact]
    public async Task An_address_the_rules_allow_that_starts_with_a_formula_character_is_neutralised_and_imports_back_unchanged()
    {
        const string Address = "=1+2@clinic.example.org";
        Assert.Equal(HttpStatusCode.Created, (await Coordinator.PutPartnerAsync(_app, Coordinator.Service("clinic-f", email: Address))).StatusCode);
        var csv = await Coordinator.Client(_app).GetStringAsync("/api/admin/directory.csv");
        Assert.Contains(",'=1+2@clinic.example.org,", csv, StringComparison.Ordinal);

        using var other = Coordinator.App();
        Assert.Equal(HttpStatusCode.OK, (await Coordinator.Client(other).PostAsync("/api/admin/directory.csv", new StringContent(csv, Encoding.UTF8, "text/csv"))).StatusCode);
        var imported = await Coordinator.Client(other).GetFromJsonAsync<JsonElement>("/api/admin/partners/clinic-f");
        Assert.Equal(Address, imported.GetProperty("service").GetProperty("email").GetString());
        Assert.Equal(csv, await Coordinator.Client(other).GetStringAsync("/api/admin/directory.csv"));
    }

    [Theory]
    [InlineData("/api/referrals?to=9999-12-31", "to")]
    [InlineData("/api/referrals?from=0001-01-01", "from")]
    [InlineData("/api/referrals?from=1999-12-31", "from")]
    [InlineData("/api/referrals?to=2101-01-01", "to")]
    [InlineData("/api/referrals?to=9999-12-31T23:59:59Z", "to")]
    [InlineData("/api/referrals?from=2100-12-31T23:00:00-05:00", "from")] // 2101-01-01 in UTC
    [InlineData("/api/reports/summary?to=9999-12-31", "to")]
    [InlineData("/api/reports/summary?from=9999-12-01&to=9999-12-31", "from,to")]
    [InlineData("/api/reports/summary?from=1970-01-01", "from")]
    public async Task A_date_outside_2000_to_2100_is_a_400_naming_the_parameter(string path, string parameters)
    {
        var response = await _app.Organisation().GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(parameters.Split(','), Coordinator.ErrorKeys(await response.Content.ReadFromJsonAsync<JsonElement>()).Order());
    }

    [Theory]
    [InlineData("/api/referrals?from=2000-01-01&to=2100-12-31")]
    [InlineData("/api/referrals?to=2100-12-31T23:59:59Z")]
    [InlineData("/api/reports/summary?from=2100-01-01&to=2100-12-31")]
    [InlineData("/api/reports/summary?from=2000-01-01&to=2000-12-31")]
    public async Task The_ends_of_the_range_are_answered(string path) =>
        Assert.Equal(HttpStatusCode.OK, (await _app.Organisation().GetAsync(path)).StatusCode);
}
