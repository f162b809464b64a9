namespace ReferralBroker.Http;

/// <summary>
/// Spreadsheet formula injection: a CSV cell starting with = + - @, tab or CR is run as a formula by Excel,
/// LibreOffice and Sheets. Every CSV the broker writes passes each field through <see cref="Neutralise"/>,
/// whatever the input rules let in (they change; stored data from before them stays), and the directory import
/// reads with <see cref="Restore"/>, so an export imports back as the same values.
/// </summary>
internal static class CsvCells
{
    private const char Escape = '\'';

    /// <summary>
    /// Prefixes an apostrophe (shown by no spreadsheet, typed by people for just this) to a field that starts with
    /// a formula character, and to one that already starts with an apostrophe followed by one, so that
    /// <see cref="Restore"/> can tell them apart.
    /// </summary>
    public static string Neutralise(string field) =>
        Triggers(field, 0) || (field.Length > 1 && field[0] == Escape && (Triggers(field, 1) || field[1] == Escape)) ? Escape + field : field;

    /// <summary>The inverse of <see cref="Neutralise"/>; any other field, "'t Hoekje" say, is left as it is.</summary>
    public static string Restore(string field) =>
        field.Length > 1 && field[0] == Escape && (Triggers(field, 1) || field[1] == Escape) ? field[1..] : field;

    private static bool Triggers(string field, int index) => field.Length > index && field[index] is '=' or '+' or '-' or '@' or '\t' or '\r';
}
