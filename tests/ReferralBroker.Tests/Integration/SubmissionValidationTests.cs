using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ReferralBroker.Tests.Integration;

public sealed class SubmissionValidationTests(SharedBroker shared) : IClassFixture<SharedBroker>
{
    private readonly BrokerApp _app = shared.App;

    private static JsonObject Body() => JsonNode.Parse(BrokerApp.Referral().GetRawText())!.AsObject();

    private async Task<(HttpStatusCode Status, JsonElement Problem)> PostAsync(object body)
    {
        var content = body as HttpContent ?? JsonContent.Create(body);
        var response = await _app.Organisation().PostAsync("/api/referrals", content);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    private static IEnumerable<string> ErrorKeys(JsonElement problem) =>
        problem.GetProperty("errors").EnumerateObject().Select(p => p.Name);

    [Theory]
    [InlineData("", "surname")]
    [InlineData("consent", "witness")]
    [InlineData("client", "passportNumber")]
    public async Task Unknown_properties_anywhere_are_refused_with_400_naming_them(string parent, string property)
    {
        var body = Body();
        (parent.Length == 0 ? body : body[parent]!.AsObject())[property] = "x";
        var (status, problem) = await PostAsync(body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(parent.Length == 0 ? property : $"{parent}.{property}", ErrorKeys(problem));
    }

    [Fact]
    public async Task A_client_field_not_covered_by_consent_is_refused_with_422_naming_it()
    {
        var body = Body();
        body["consent"]!["sharedFields"] = new JsonArray("firstName", "contact", "contactVia", "language");
        var (status, problem) = await PostAsync(body);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal(["client.needs"], ErrorKeys(problem));
    }

    [Fact]
    public async Task A_referral_without_consent_is_refused_with_422()
    {
        var body = Body();
        body.Remove("consent");
        var (status, problem) = await PostAsync(body);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("consent", ErrorKeys(problem));
    }

    [Theory]
    [InlineData("partnerId", "nobody", "partnerId")]
    [InlineData("partnerId", "demo-legal", "category")]
    [InlineData("category", "housing", "category")]
    public async Task Unknown_partners_and_category_mismatches_are_refused_with_422(string property, string value, string error)
    {
        var body = Body();
        body[property] = value;
        var (status, problem) = await PostAsync(body);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains(error, ErrorKeys(problem));
    }

    [Theory]
    [InlineData("2026-11-22T00:00:00Z")]
    [InlineData("2027-03-01T00:00:00Z")]
    [InlineData("next tuesday")]
    public async Task Consent_must_end_in_the_future_and_within_90_days(string expiresAt)
    {
        var body = Body();
        body["consent"]!["expiresAt"] = expiresAt;
        var (status, problem) = await PostAsync(body);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal(["consent.expiresAt"], ErrorKeys(problem));
    }

    [Fact]
    public async Task Consent_expiry_given_by_the_organisation_is_kept()
    {
        var submitted = await _app.SubmitAsync(BrokerApp.Referral(expiresAt: "2026-12-22T00:00:00Z"));
        Assert.Equal(new DateTimeOffset(2026, 12, 22, 0, 0, 0, TimeSpan.Zero), submitted.ExpiresAt);
    }

    [Fact]
    public async Task A_body_over_16_KiB_is_refused_with_413()
    {
        var body = Body();
        body["client"]!["needs"] = new string('x', 17 * 1024);
        var (status, _) = await PostAsync(body);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[]")]
    [InlineData("""{"category":"health","category":"legal"}""")]
    [InlineData("""{"category":7}""")]
    public async Task Malformed_bodies_are_refused_with_400(string json)
    {
        var (status, _) = await PostAsync(new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
    }

    [Fact]
    public async Task Contact_through_the_client_needs_a_contact()
    {
        var body = Body();
        body["client"]!.AsObject().Remove("contact");
        var (status, problem) = await PostAsync(body);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal(["client.contact"], ErrorKeys(problem));
    }
}

/// <summary>One broker shared by a class of tests that neither move the clock nor depend on an empty outbox.</summary>
public sealed class SharedBroker : IDisposable
{
    public BrokerApp App { get; } = new();

    public void Dispose() => App.Dispose();
}
