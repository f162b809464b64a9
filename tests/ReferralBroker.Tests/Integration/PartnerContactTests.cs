using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace ReferralBroker.Tests.Integration;

/// <summary>
/// The organisation's partner-contact setting: whether partners see its name and the contact route they are given,
/// shown to the partner as the referral's "referrer".
/// </summary>
public sealed class PartnerContactTests : IDisposable
{
    private const string Contact = "Call our drop-in, +66 2 123 4567, Mon–Fri 10–18";
    private readonly BrokerApp _app = Coordinator.App(runDispatcher: false);

    public void Dispose() => _app.Dispose();

    private async Task<JsonElement> OrganisationAsync(string id = "demo-org") =>
        (await Coordinator.Client(_app).GetFromJsonAsync<JsonElement>("/api/admin/organisations"))
            .EnumerateArray().Single(o => o.GetProperty("id").GetString() == id);

    private async Task<HttpResponseMessage> PutAsync(string body) =>
        await Coordinator.Client(_app).PutAsync("/api/admin/organisations/demo-org", new StringContent(body, Encoding.UTF8, "application/json"));

    private async Task<JsonElement> ReferrerAsync()
    {
        var (_, link) = await _app.SubmitAndDispatchAsync();
        var view = await _app.Partner(link).GetFromJsonAsync<JsonElement>($"/api/partner/referrals/{link.ReferralId}");
        return view.GetProperty("referrer");
    }

    [Fact]
    public async Task By_default_the_partner_sees_the_referring_organisation_named_and_no_contact()
    {
        var organisation = await OrganisationAsync();
        var setting = organisation.GetProperty("partnerContact");
        Assert.True(setting.GetProperty("named").GetBoolean());
        Assert.Equal(JsonValueKind.Null, setting.GetProperty("contact").ValueKind);

        var referrer = await ReferrerAsync();
        Assert.Equal(organisation.GetProperty("name").GetString(), referrer.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, referrer.GetProperty("contact").ValueKind);
    }

    [Fact]
    public async Task An_organisation_that_chose_not_to_be_named_is_shown_by_its_contact_route_only_and_keeps_the_choice()
    {
        var name = (await OrganisationAsync()).GetProperty("name").GetString();
        var saved = await PutAsync($$$"""{"name":"{{{name}}}","partnerContact":{"named":false,"contact":"{{{Contact}}}"}}""");
        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
        var setting = (await saved.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("partnerContact");
        Assert.False(setting.GetProperty("named").GetBoolean());
        Assert.Equal(Contact, setting.GetProperty("contact").GetString());

        var referrer = await ReferrerAsync();
        Assert.Equal(JsonValueKind.Null, referrer.GetProperty("name").ValueKind);
        Assert.Equal(Contact, referrer.GetProperty("contact").GetString());

        // A save that does not mention the setting (a client that does not know it) keeps the choice.
        Assert.Equal(HttpStatusCode.OK, (await PutAsync($$$"""{"name":"{{{name}}}","notifications":{"email":"staff@demo.example"}}""")).StatusCode);
        Assert.False((await OrganisationAsync()).GetProperty("partnerContact").GetProperty("named").GetBoolean());

        // The partner's actions answer with the same view.
        var (_, link) = await _app.SubmitAndDispatchAsync();
        var accepted = await (await _app.Partner(link).PostAsync($"/api/partner/referrals/{link.ReferralId}/accept", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(JsonValueKind.Null, accepted.GetProperty("referrer").GetProperty("name").ValueKind);
        Assert.Equal(Contact, accepted.GetProperty("referrer").GetProperty("contact").GetString());

        // Named again, with the contact it gave.
        Assert.Equal(HttpStatusCode.OK, (await PutAsync($$$"""{"name":"{{{name}}}","partnerContact":{"named":true}}""")).StatusCode);
        var named = await ReferrerAsync();
        Assert.Equal(name, named.GetProperty("name").GetString());
        Assert.Equal(Contact, named.GetProperty("contact").GetString());
    }

    [Fact]
    public async Task The_setting_survives_a_restart()
    {
        Assert.Equal(HttpStatusCode.OK, (await PutAsync($$$"""{"name":"Sisters Drop-in","partnerContact":{"named":false,"contact":"{{{Contact}}}"}}""")).StatusCode);
        _app.Dispose();

        using var restarted = Coordinator.App(dataPath: _app.DataPath);
        var organisation = (await Coordinator.Client(restarted).GetFromJsonAsync<JsonElement>("/api/admin/organisations"))
            .EnumerateArray().Single(o => o.GetProperty("id").GetString() == "demo-org");
        Assert.False(organisation.GetProperty("partnerContact").GetProperty("named").GetBoolean());
        Assert.Equal(Contact, organisation.GetProperty("partnerContact").GetProperty("contact").GetString());
    }

    public static TheoryData<string> TooMuchContact => new()
    {
        new string('a', 301),
        "Call us\\nor write",
        "Tab\\there",
        "Line\u2028separated",
    };

    [Theory]
    [MemberData(nameof(TooMuchContact))]
    public async Task A_contact_over_300_characters_or_on_more_than_one_line_is_a_422_naming_it_and_changes_nothing(string contact)
    {
        var response = await PutAsync($$$"""{"name":"Renamed","partnerContact":{"named":false,"contact":"{{{contact}}}"}}""");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal(["partnerContact.contact"], Coordinator.ErrorKeys(await response.Content.ReadFromJsonAsync<JsonElement>()));
        var organisation = await OrganisationAsync();
        Assert.NotEqual("Renamed", organisation.GetProperty("name").GetString());
        Assert.True(organisation.GetProperty("partnerContact").GetProperty("named").GetBoolean());
    }

    [Theory]
    [InlineData("""{"name":"Renamed","partnerContact":{"named":"no"}}""", "partnerContact.named")]
    [InlineData("""{"name":"Renamed","partnerContact":{"contact":5}}""", "partnerContact.contact")]
    [InlineData("""{"name":"Renamed","partnerContact":{"phone":"123"}}""", "partnerContact.phone")]
    [InlineData("""{"name":"Renamed","partnerContact":"named"}""", "partnerContact")]
    public async Task A_setting_of_the_wrong_shape_is_a_400_naming_it(string body, string field)
    {
        var response = await PutAsync(body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal([field], Coordinator.ErrorKeys(await response.Content.ReadFromJsonAsync<JsonElement>()));
    }

    [Fact]
    public async Task An_exactly_300_character_contact_is_kept_and_a_blank_one_means_none()
    {
        var longest = new string('a', 300);
        Assert.Equal(HttpStatusCode.OK, (await PutAsync($$$"""{"name":"Sisters","partnerContact":{"named":true,"contact":"{{{longest}}}"}}""")).StatusCode);
        Assert.Equal(longest, (await OrganisationAsync()).GetProperty("partnerContact").GetProperty("contact").GetString());

        Assert.Equal(HttpStatusCode.OK, (await PutAsync("""{"name":"Sisters","partnerContact":{"contact":"   "}}""")).StatusCode);
        Assert.Equal(JsonValueKind.Null, (await OrganisationAsync()).GetProperty("partnerContact").GetProperty("contact").ValueKind);
    }
}
