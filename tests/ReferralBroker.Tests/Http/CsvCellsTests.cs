using ReferralBroker.Http;

namespace ReferralBroker.Tests.Http;

public sealed class CsvCellsTests
{
    [Theory]
    [InlineData("=HYPERLINK(\"https://evil.example\")", "'=HYPERLINK(\"https://evil.example\")")]
    [InlineData("+1+1", "'+1+1")]
    [InlineData("-1+1", "'-1+1")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("\t=1", "'\t=1")]
    [InlineData("\r=1", "'\r=1")]
    [InlineData("'=1", "''=1")]   // already looks escaped: escaped again, so the import can tell
    [InlineData("''x", "'''x")]
    [InlineData("'t Hoekje", "'t Hoekje")]
    [InlineData("Clinic A", "Clinic A")]
    [InlineData("a=b", "a=b")]
    [InlineData("'", "'")]
    [InlineData("", "")]
    [InlineData("Clinic;=1+2", "Clinic;'=1+2")]   // a ';' list-separator locale starts a cell after the ';'
    [InlineData("a;b;@x;'-y", "a;b;'@x;''-y")]
    [InlineData("=1;=2", "'=1;'=2")]
    [InlineData("x;", "x;")]
    public void A_field_that_a_spreadsheet_would_run_is_prefixed_and_restores_to_itself(string field, string written)
    {
        Assert.Equal(written, CsvCells.Neutralise(field));
        Assert.Equal(field, CsvCells.Restore(CsvCells.Neutralise(field)));
    }
}
