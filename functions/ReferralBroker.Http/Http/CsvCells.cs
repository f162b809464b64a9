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
    /// <see cref="Restore"/> can tell them apart. The same after every ';' inside the field: a spreadsheet in a
    /// locale whose list separator is ';' (German, French, Dutch) splits the line there, and "Clinic;=1+2" would
    /// start a cell with a formula.
    /// </summary>
    public static string Neutralise(string field) => EachCell(field, static cell =>
        Triggers(cell, 0) || LooksEscaped(cell) ? Escape + cell : cell);

    /// <summary>The inverse of <see cref="Neutralise"/>; any other field, "'t Hoekje" say, is left as it is.</summary>
    public static string Restore(string field) => EachCell(field, static cell => LooksEscaped(cell) ? cell[1..] : cell);

    private static string EachCell(string field, Func<string, string> cell) =>
        field.Contains(';', StringComparison.Ordinal) ? string.Join(';', field.Split(';').Select(cell)) : cell(field);

    private static bool LooksEscaped(string cell) => cell.Length > 1 && cell[0] == Escape && (Triggers(cell, 1) || cell[1] == Escape);

    private static bool Triggers(string field, int index) => field.Length > index && field[index] is '=' or '+' or '-' or '@' or '\t' or '\r';
}
