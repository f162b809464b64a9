using System.Text;
using ReferralBroker.Intake;
using ReferralBroker.Lifecycle;
using ReferralBroker.Referrals;

namespace ReferralBroker.Tests.Domain;

public sealed class ConsentRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 5, 4, 10, 30, 0, TimeSpan.Zero);
    private static readonly RetentionPolicy Retention = new();
    private static readonly FakeDirectory Directory = new(
        new Partner("clinic", "Clinic", "intake@clinic.example", [ServiceCategory.Health], ["en", "th"]),
        new Partner("law-centre", "Law centre", "intake@law.example", [ServiceCategory.Legal, ServiceCategory.Employment], ["en"]));

    [Fact]
    public void A_valid_submission_has_no_errors_and_consent_lasts_30_days_by_default()
    {
        var errors = Check(Valid(), out var expiresAt);

        Assert.Empty(errors);
        Assert.Equal(Now.AddDays(30), expiresAt);
    }

    [Fact]
    public void A_valid_submission_for_a_partner_serving_several_categories_has_no_errors()
    {
        var submission = Valid() with { PartnerId = "law-centre", Category = ServiceCategory.Employment };

        Assert.Empty(Check(submission, out _));
    }

    [Theory]
    [InlineData("firstName")]
    [InlineData("needs")]
    public void A_client_field_not_listed_in_sharedFields_is_an_error_on_that_field(string unshared)
    {
        var shared = new[] { "firstName", "needs", "language" }.Where(f => f != unshared).ToList();
        var submission = Valid() with
        {
            Consent = Consent(shared),
            Client = new Dictionary<string, string> { ["firstName"] = "Mai", ["needs"] = "STI testing", ["language"] = "th" },
        };

        var errors = Check(submission, out _);

        Assert.Equal($"client.{unshared}", Assert.Single(errors).Key);
    }

    [Fact]
    public void A_shared_field_the_client_did_not_give_is_fine()
    {
        var submission = Valid() with { Consent = Consent(["firstName", "needs", "language", "contact"]) };

        Assert.Empty(Check(submission, out _));
    }

    [Fact]
    public void Missing_consent_is_an_error_on_consent()
    {
        var errors = Check(Valid() with { Consent = null }, out _);

        Assert.Equal("consent", Assert.Single(errors).Key);
    }

    [Fact]
    public void Consent_without_a_method_is_an_error_on_obtainedBy()
    {
        var submission = Valid() with { Consent = Consent(["firstName", "needs"]) with { ObtainedBy = null } };

        Assert.Equal("consent.obtainedBy", Assert.Single(Check(submission, out _)).Key);
    }

    [Theory]
    [InlineData("lastName")]
    [InlineData("FirstName")]
    [InlineData("")]
    public void An_unknown_shared_field_name_is_an_error_on_sharedFields(string unknown)
    {
        var submission = Valid() with { Consent = Consent(["firstName", "needs", unknown]) };

        Assert.Equal("consent.sharedFields", Assert.Single(Check(submission, out _)).Key);
    }

    [Theory]
    [InlineData(-TimeSpan.TicksPerDay * 3)]
    [InlineData(-1)]
    [InlineData(0)]
    public void Consent_ending_now_or_in_the_past_is_an_error_on_expiresAt(long ticksFromNow)
    {
        var submission = Valid() with { Consent = Consent(["firstName", "needs"], Now.AddTicks(ticksFromNow)) };

        Assert.Equal("consent.expiresAt", Assert.Single(Check(submission, out _)).Key);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(TimeSpan.TicksPerHour)]
    [InlineData(TimeSpan.TicksPerDay * 365)]
    public void Consent_lasting_more_than_90_days_is_an_error_on_expiresAt(long ticksBeyond90Days)
    {
        var submission = Valid() with { Consent = Consent(["firstName", "needs"], Now.AddDays(90).AddTicks(ticksBeyond90Days)) };

        Assert.Equal("consent.expiresAt", Assert.Single(Check(submission, out _)).Key);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(TimeSpan.TicksPerDay * 7)]
    [InlineData(TimeSpan.TicksPerDay * 45)]
    [InlineData(TimeSpan.TicksPerDay * 90)]
    public void An_explicit_consent_end_within_90_days_is_honoured(long ticksFromNow)
    {
        var end = Now.AddTicks(ticksFromNow);
        var submission = Valid() with { Consent = Consent(["firstName", "needs"], end) };

        var errors = Check(submission, out var expiresAt);

        Assert.Empty(errors);
        Assert.Equal(end, expiresAt);
    }

    [Fact]
    public void A_rejected_consent_end_falls_back_to_the_default_rather_than_the_rejected_date()
    {
        var submission = Valid() with { Consent = Consent(["firstName", "needs"], Now.AddDays(200)) };

        Check(submission, out var expiresAt);

        Assert.Equal(Now.AddDays(30), expiresAt);
    }

    [Theory]
    [InlineData("nobody")]
    [InlineData("CLINIC")]
    [InlineData(null)]
    public void An_unknown_partner_is_an_error_on_partnerId(string? partnerId)
    {
        var errors = Check(Valid() with { PartnerId = partnerId }, out _);

        Assert.Equal("partnerId", Assert.Single(errors).Key);
    }

    [Theory]
    [InlineData("clinic", ServiceCategory.Legal)]
    [InlineData("clinic", ServiceCategory.Employment)]
    [InlineData("law-centre", ServiceCategory.Health)]
    public void A_partner_not_serving_the_category_is_an_error_on_category(string partnerId, ServiceCategory category)
    {
        var errors = Check(Valid() with { PartnerId = partnerId, Category = category }, out _);

        Assert.Equal("category", Assert.Single(errors).Key);
    }

    [Fact]
    public void A_missing_category_is_an_error_on_category()
    {
        Assert.Equal("category", Assert.Single(Check(Valid() with { Category = null }, out _)).Key);
    }

    [Fact]
    public void ContactVia_client_without_a_contact_is_an_error_on_client_contact()
    {
        var submission = Valid() with
        {
            Consent = Consent(["firstName", "needs", "contact", "contactVia"]),
            Client = new Dictionary<string, string> { ["firstName"] = "Mai", ["contactVia"] = "client" },
        };

        Assert.Equal("client.contact", Assert.Single(Check(submission, out _)).Key);
    }

    [Theory]
    [InlineData("client", true)]
    [InlineData("referrer", true)]
    [InlineData("referrer", false)]
    public void ContactVia_is_fine_with_a_contact_or_when_the_referrer_passes_messages(string via, bool withContact)
    {
        var client = new Dictionary<string, string> { ["firstName"] = "Mai", ["contactVia"] = via };
        if (withContact)
        {
            client["contact"] = "+66 80 000 0000";
        }

        var submission = Valid() with { Consent = Consent(["firstName", "contact", "contactVia"]), Client = client };

        Assert.Empty(Check(submission, out _));
    }

    [Fact]
    public void An_empty_client_is_an_error_on_client()
    {
        var submission = Valid() with { Client = new Dictionary<string, string>() };

        Assert.Equal("client", Assert.Single(Check(submission, out _)).Key);
    }

    [Fact]
    public void A_client_field_over_its_length_is_an_error_on_that_field()
    {
        var submission = Valid() with
        {
            Client = new Dictionary<string, string> { ["firstName"] = new string('a', 101), ["needs"] = new string('b', 2000) },
        };

        Assert.Equal("client.firstName", Assert.Single(Check(submission, out _)).Key);
    }

    [Fact]
    public void Value_errors_passed_in_are_kept_alongside_the_rules_findings()
    {
        var valueErrors = new Dictionary<string, string[]>
        {
            ["category"] = ["One of health, legal, employment."],
            ["consent.expiresAt"] = ["Must be an ISO 8601 date and time."],
        };
        var submission = Valid() with { Category = null, PartnerId = "nobody", ValueErrors = valueErrors };

        var errors = Check(submission, out _);

        Assert.Equal(["One of health, legal, employment."], errors["category"]);
        Assert.Equal(["Must be an ISO 8601 date and time."], errors["consent.expiresAt"]);
        Assert.True(errors.ContainsKey("partnerId"));
        Assert.Equal(3, errors.Count);
        Assert.Equal(2, valueErrors.Count);
    }

    [Fact]
    public void Value_errors_alone_make_an_otherwise_valid_submission_invalid()
    {
        var submission = Valid() with
        {
            ValueErrors = new Dictionary<string, string[]> { ["consent.obtainedBy"] = ["One of verbal, written, digital."] },
        };

        var errors = Check(submission, out _);

        Assert.Equal(["One of verbal, written, digital."], Assert.Single(errors, e => e.Key == "consent.obtainedBy").Value);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var submission = new ReferralSubmission(
            Category: ServiceCategory.Legal,
            PartnerId: "clinic",
            Consent: Consent(["firstName", "passport"], Now.AddDays(-1)),
            Client: new Dictionary<string, string> { ["firstName"] = "Mai", ["needs"] = "visa advice", ["contactVia"] = "client" },
            ClientJson: [],
            ValueErrors: new Dictionary<string, string[]>());

        var errors = Check(submission, out _);

        Assert.Equal(
            ["category", "client.contact", "client.contactVia", "client.needs", "consent.expiresAt", "consent.sharedFields"],
            errors.Keys.Order(StringComparer.Ordinal));
    }

    private static Dictionary<string, string[]> Check(ReferralSubmission submission, out DateTimeOffset expiresAt) =>
        ConsentRules.Check(submission, Directory, Now, Retention, out expiresAt);

    private static ConsentStatement Consent(IReadOnlyList<string> sharedFields, DateTimeOffset? expiresAt = null) =>
        new(ConsentMethod.Verbal, sharedFields, expiresAt);

    private static ReferralSubmission Valid()
    {
        const string json = """{"firstName":"Mai","needs":"STI testing"}""";
        return new ReferralSubmission(
            ServiceCategory.Health,
            "clinic",
            Consent(["firstName", "needs"]),
            new Dictionary<string, string> { ["firstName"] = "Mai", ["needs"] = "STI testing" },
            Encoding.UTF8.GetBytes(json),
            new Dictionary<string, string[]>());
    }

    private sealed class FakeDirectory(params Partner[] partners) : INetworkDirectory
    {
        public IReadOnlyList<Partner> Partners { get; } = partners;

        public Partner? FindPartner(string partnerId) => Partners.FirstOrDefault(p => p.Id == partnerId);

        public Organisation? FindOrganisationByKeyHash(string apiKeyHash) => null;

        public Organisation? FindOrganisation(string organisationId) => null;
    }
}
