using System.Globalization;

namespace ReferralBroker.Http;

/// <summary>Reads query strings strictly: unknown or repeated parameters are errors, as unknown JSON properties are.</summary>
internal sealed class QueryParameters(IQueryCollection query, params string[] allowed)
{
    private static readonly DateOnly FirstDay = new(2000, 1, 1);
    private static readonly DateOnly LastDay = new(2100, 12, 31);

    public Dictionary<string, string[]> Errors { get; } = Unknown(query, allowed);

    public string? Text(string name)
    {
        var values = query[name];
        if (values.Count > 1)
        {
            Errors[name] = ["Give this parameter at most once."];
        }

        return values.Count == 1 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;
    }

    public T? Parsed<T>(string name, TryParser<T> parse, string expected)
        where T : struct
    {
        if (Text(name) is not { } text)
        {
            return null;
        }

        if (parse(text, out var value))
        {
            return value;
        }

        Errors[name] = [expected];
        return null;
    }

    /// <summary>
    /// A UTC date (yyyy-MM-dd) or an ISO 8601 date-time with offset, from 2000-01-01 to 2100-12-31: nothing the
    /// broker holds lies outside, and the far ends of the calendar overflow the arithmetic that follows (a range's
    /// end day, a report's months), which answered 500. A date as the end of a range means the end of that day, so
    /// from=2026-11-01&amp;to=2026-11-30 covers the whole of November.
    /// </summary>
    public DateTimeOffset? Instant(string name, bool endOfRange) =>
        Parsed(name, (string? text, out DateTimeOffset value) =>
        {
            if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            {
                value = default;
                if (date < FirstDay || date > LastDay)
                {
                    return false;
                }

                value = new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).AddDays(endOfRange ? 1 : 0);
                return true;
            }

            return DateTimeOffset.TryParseExact(text, "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", CultureInfo.InvariantCulture, DateTimeStyles.None, out value)
                && text!.Length > 19 && (text[^1] == 'Z' || text[^6] is '+' or '-')
                && DateOnly.FromDateTime(value.UtcDateTime) is var day && day >= FirstDay && day <= LastDay;
        }, "A date (2026-11-30) or a date-time with offset (2026-11-30T12:00:00Z), from 2000-01-01 to 2100-12-31.");

    public int? Integer(string name, int min, int max)
    {
        var value = Parsed(name, (string? text, out int v) => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out v),
            $"A whole number from {min} to {max}.");
        if (value is { } v && (v < min || v > max))
        {
            Errors[name] = [$"A whole number from {min} to {max}."];
            return null;
        }

        return value;
    }

    public delegate bool TryParser<T>(string? text, out T value);

    private static Dictionary<string, string[]> Unknown(IQueryCollection query, string[] allowed) =>
        query.Keys.Where(k => !allowed.Contains(k, StringComparer.Ordinal))
            .ToDictionary(k => k, _ => new[] { $"Unknown parameter. Known: {string.Join(", ", allowed)}." });

}
