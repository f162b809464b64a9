using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ReferralBroker.Tests.Integration;

public sealed class PartnerActionTests : IDisposable
{
    private readonly BrokerApp _app = new();

    public void Dispose() => _app.Dispose();

    private static string Url(PartnerLink link, string action = "") => $"/api/partner/referrals/{link.ReferralId}{action}";

    [Fact]
    public async Task A_wrong_or_missing_capability_gets_404_for_reads_and_actions()
    {
        var (_, link) = await _app.SubmitAndDispatchAsync();
        var stranger = _app.Partner(link with { Secret = Tokens.Base64Url.Encode(new byte[32]) });
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync(Url(link))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.PostAsync(Url(link, "/accept"), null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _app.CreateClient().GetAsync(Url(link))).StatusCode);
        // The raw link secret is not the capability: a leaked S must still be derived before it works.
        var rawSecret = _app.CreateClient();
        rawSecret.DefaultRequestHeaders.Add("X-Referral-Capability", link.Secret);
        Assert.Equal(HttpStatusCode.NotFound, (await rawSecret.GetAsync(Url(link))).StatusCode);
        Assert.Equal("delivered", await StatusOf(link));
    }

    [Fact]
    public async Task Deciding_twice_is_a_409_conflict()
    {
        var (_, link) = await _app.SubmitAndDispatchAsync();
        var partner = _app.Partner(link);
        Assert.Equal(HttpStatusCode.OK, (await partner.PostAsync(Url(link, "/accept"), null)).StatusCode);
        var again = await partner.PostAsync(Url(link, "/accept"), null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("application/problem+json", again.Content.Headers.ContentType?.MediaType);
        var decline = await partner.PostAsJsonAsync(Url(link, "/decline"), new { reason = "no-capacity" });
        Assert.Equal(HttpStatusCode.Conflict, decline.StatusCode);
    }

    [Fact]
    public async Task Declining_records_the_reason_and_destroys_the_sealed_details()
    {
        var (submitted, link) = await _app.SubmitAndDispatchAsync();
        var partner = _app.Partner(link);
        var declined = await partner.PostAsJsonAsync(Url(link, "/decline"), new { reason = "not-eligible" });
        Assert.Equal(HttpStatusCode.OK, declined.StatusCode);

        var view = await partner.GetFromJsonAsync<JsonElement>(Url(link));
        Assert.Equal("declined", view.GetProperty("status").GetString());
        Assert.False(view.TryGetProperty("sealed", out _));
        var organisation = await _app.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{submitted.ReferralId}");
        Assert.Equal("not-eligible", organisation.GetProperty("declineReason").GetString());
    }

    [Theory]
    [InlineData("/decline", """{"reason":"too-busy"}""", HttpStatusCode.UnprocessableEntity)]
    [InlineData("/decline", """{}""", HttpStatusCode.UnprocessableEntity)]
    [InlineData("/decline", """{"reason":"other","note":"x"}""", HttpStatusCode.BadRequest)]
    [InlineData("/progress", """{"status":"accepted"}""", HttpStatusCode.UnprocessableEntity)]
    public async Task Action_bodies_are_read_strictly(string action, string json, HttpStatusCode expected)
    {
        var (_, link) = await _app.SubmitAndDispatchAsync();
        var response = await _app.Partner(link).PostAsync(Url(link, action), new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("delivered", await StatusOf(link));
    }

    [Fact]
    public async Task Progress_before_acceptance_is_a_409_conflict()
    {
        var (_, link) = await _app.SubmitAndDispatchAsync();
        var response = await _app.Partner(link).PostAsJsonAsync(Url(link, "/progress"), new { status = "completed" });
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
    }

    [Fact]
    public async Task Reading_a_referral_never_changes_it()
    {
        var (submitted, link) = await _app.SubmitAndDispatchAsync();
        var partner = _app.Partner(link);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await partner.GetAsync(Url(link))).StatusCode);
        }

        var view = await _app.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{submitted.ReferralId}");
        Assert.Equal(2, view.GetProperty("history").GetArrayLength());
        Assert.Equal("delivered", view.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Two_partners_acting_at_once_resolve_to_exactly_one_winner()
    {
        var (_, link) = await _app.SubmitAndDispatchAsync();
        var responses = await Task.WhenAll(
            _app.Partner(link).PostAsync(Url(link, "/accept"), null),
            _app.Partner(link).PostAsJsonAsync(Url(link, "/decline"), new { reason = "no-capacity" }),
            _app.Partner(link).PostAsync(Url(link, "/accept"), null));
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.OK);
        Assert.Equal(2, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
    }

    private async Task<string?> StatusOf(PartnerLink link) =>
        (await _app.Partner(link).GetFromJsonAsync<JsonElement>(Url(link))).GetProperty("status").GetString();
}
