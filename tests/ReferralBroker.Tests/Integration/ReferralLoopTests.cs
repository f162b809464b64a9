using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ReferralBroker.Sealing;

namespace ReferralBroker.Tests.Integration;

public sealed class ReferralLoopTests : IDisposable
{
    private readonly BrokerApp _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task A_referral_travels_from_organisation_to_partner_and_the_client_sees_each_step()
    {
        var body = BrokerApp.Referral();
        var submitted = await _app.SubmitAsync(body);
        Assert.Matches("^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$", submitted.StatusToken);
        Assert.Equal("submitted", submitted.Status);
        Assert.Equal(BrokerApp.Start.AddDays(30), submitted.ExpiresAt);
        Assert.Equal("submitted", (await _app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());

        Assert.Equal(1, await _app.DispatchAsync());
        var email = Assert.Single(_app.Outbox());
        Assert.Contains("To: <intake@health.example.org>", email, StringComparison.Ordinal);
        Assert.Contains("Subject: A new referral is waiting for you", email, StringComparison.Ordinal);
        Assert.Contains("A health referral", email, StringComparison.Ordinal);

        var organisation = _app.Organisation();
        var view = await organisation.GetFromJsonAsync<JsonElement>($"/api/referrals/{submitted.ReferralId}");
        Assert.Equal("delivered", view.GetProperty("status").GetString());
        Assert.Equal(["submitted", "delivered"], view.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("status").GetString()));

        // The partner holds only the email: from S it derives the capability and opens the sealed details.
        var link = BrokerApp.LinkIn(email);
        var partner = _app.Partner(link);
        var referral = await partner.GetFromJsonAsync<JsonElement>($"/api/partner/referrals/{link.ReferralId}");
        var sealedView = referral.GetProperty("sealed");
        var opened = ReferralSeal.Open(link.ReferralId,
            new SealedReferral(sealedView.GetProperty("v").GetInt32(), sealedView.GetProperty("nonce").GetString()!, sealedView.GetProperty("ciphertext").GetString()!),
            link.SecretBytes);
        Assert.Equal(body.GetProperty("client").GetRawText(), Encoding.UTF8.GetString(opened));

        var accepted = await partner.PostAsync($"/api/partner/referrals/{link.ReferralId}/accept", null);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        var status = await _app.StatusAsync(submitted.StatusToken);
        Assert.Equal("accepted", status.GetProperty("status").GetString());
        Assert.Equal("health", status.GetProperty("category").GetString());
        var sealedHeld = status.GetProperty("held").EnumerateArray().Single(h => h.GetProperty("what").GetString()!.Contains("details", StringComparison.Ordinal));
        Assert.Equal(BrokerApp.Start.AddDays(14), sealedHeld.GetProperty("deletedBy").GetDateTimeOffset());

        foreach (var step in new[] { "in-progress", "completed" })
        {
            var progressed = await partner.PostAsJsonAsync($"/api/partner/referrals/{link.ReferralId}/progress", new { status = step });
            Assert.Equal(HttpStatusCode.OK, progressed.StatusCode);
        }

        view = await organisation.GetFromJsonAsync<JsonElement>($"/api/referrals/{submitted.ReferralId}");
        Assert.Equal("completed", view.GetProperty("status").GetString());
        Assert.Equal(["submitted", "delivered", "accepted", "in-progress", "completed"],
            view.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("status").GetString()));
        Assert.False(view.TryGetProperty("client", out _));
    }

    [Fact]
    public async Task The_organisation_view_holds_no_client_data()
    {
        var submitted = await _app.SubmitAsync(BrokerApp.Referral("ZQXJ-org-view"));
        var text = await _app.Organisation().GetStringAsync($"/api/referrals/{submitted.ReferralId}");
        Assert.DoesNotContain("ZQXJ", text, StringComparison.Ordinal);
        Assert.Equal(["referralId", "category", "partnerId", "status", "createdAt", "expiresAt", "history"],
            JsonDocument.Parse(text).RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Only_the_owning_organisation_sees_a_referral()
    {
        var submitted = await _app.SubmitAsync();
        var response = await _app.Organisation(BrokerApp.OtherOrgKey).GetAsync($"/api/referrals/{submitted.ReferralId}");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key")]
    public async Task Requests_without_a_valid_organisation_key_get_401_problem(string? key)
    {
        var client = key is null ? _app.CreateClient() : _app.Organisation(key);
        var response = await client.PostAsJsonAsync("/api/referrals", BrokerApp.Referral());
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(_app.Outbox());
    }

    [Fact]
    public async Task The_directory_lists_partners_with_their_categories_and_languages()
    {
        var partners = await _app.CreateClient().GetFromJsonAsync<JsonElement>("/api/partners");
        var health = partners.EnumerateArray().Single(p => p.GetProperty("id").GetString() == "demo-health");
        Assert.Equal(["health"], health.GetProperty("categories").EnumerateArray().Select(c => c.GetString()));
        Assert.Contains("th", health.GetProperty("languages").EnumerateArray().Select(c => c.GetString()));
        Assert.False(health.TryGetProperty("email", out _));
        Assert.Equal(3, partners.GetArrayLength());
    }

    [Theory]
    [InlineData("/status")]
    [InlineData("/partner/ref_0123")]
    [InlineData("/")]
    [InlineData("/refer")]
    public async Task Pages_are_served_with_a_strict_content_security_policy(string path)
    {
        var response = await _app.CreateClient().GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
    }
}
