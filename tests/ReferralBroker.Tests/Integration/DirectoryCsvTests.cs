using ReferralBroker.Partners;

namespace ReferralBroker.Tests.Integration;

/// <summary>The CSV reader takes what spreadsheets write: a byte order mark, LF or CRLF, quoted commas, quotes and line breaks.</summary>
public sealed class DirectoryCsvTests
{
    private static readonly string Header = string.Join(",", DirectoryCsv.Columns);

    [Theory]
    [InlineData("\r\n")]
    [InlineData("\n")]
    public void A_spreadsheets_CSV_reads_with_its_quoting_and_line_endings(string newline)
    {
        var csv = "\uFEFF" + Header + newline
            + "clinic-a,\"Clinic \"\"A\"\"\",\"Two\nlines\",a@clinic.example,,active,,,health;housing,no-id-required,en; th ,\"Bangkok;Pattaya, Chonburi\",,Step-free" + newline;

        var entry = Assert.Single(DirectoryCsv.Read(csv, out var error)!);
        var service = entry.Service!;

        Assert.Null(error);
        Assert.Equal("clinic-a", entry.Slug);
        Assert.Equal("a@clinic.example", entry.ReferralEmail);
        Assert.Null(service.Email);
        Assert.Equal("Clinic \"A\"", service.Name);
        Assert.Equal("Two\nlines", service.Description);
        Assert.Null(service.Organization);
        Assert.Equal(["en", "th"], service.Languages!.Select(l => l!.Code));
        Assert.Equal(["Bangkok", "Pattaya, Chonburi"], service.ServiceAreas!.Select(a => a!.Name));
        Assert.Empty(service.Schedules!);
        Assert.Equal("Step-free", Assert.Single(Assert.Single(service.ServiceAtLocations!)!.Location!.Accessibility!)!.Description);
        Assert.Equal([("referral-broker-category", "health"), ("referral-broker-category", "housing"), ("referral-broker-safety", "no-id-required")],
            service.Attributes!.Select(a => (a!.TaxonomyTerm!.Taxonomy, a.TaxonomyTerm.Code)));
    }

    [Fact]
    public void What_is_written_reads_back_as_the_same_partners()
    {
        var csv = Header + "\r\n" + "clinic-a,\"Clinic, A\",,a@clinic.example,desk@clinic.example,active,clinic-org,Clinic org,health,,en,,\"Mon, Wed\",\r\n";
        var errors = new Dictionary<string, string[]>();
        var partners = DirectoryCsv.Read(csv, out _)!
            .Select((e, i) => HsdsMapping.ToPartner(e.Service!, e.Slug, e.ReferralEmail, $"rows[{i}]", errors)!).ToList();

        Assert.Empty(errors);
        Assert.Equal(csv, DirectoryCsv.Write(partners));
    }

    [Fact]
    public void An_empty_file_has_no_header_and_is_refused()
    {
        Assert.Null(DirectoryCsv.Read("", out var error));
        Assert.Contains("header", error, StringComparison.Ordinal);
    }
}
