namespace ReferralBroker.Referrals;

/// <summary>
/// The one rule for an email address wherever one enters the broker (admin API, settings, directory import): a
/// single RFC 5321 mailbox, local-part@domain, as a mail server takes it in RCPT TO. No display name, no angle
/// brackets, no list, no comment, no quoted local part, no domain literal, no white space or line break: a value
/// such as <c>a@b&gt;,&lt;spy@evil.example</c> would otherwise make a sender copy a partner's link to a second address.
/// </summary>
public static class EmailAddresses
{
    public const string Rule = "One email address such as intake@clinic.example.org: no name, list, comment, quotes or line break.";

    private const string AtextSymbols = "!#$%&'*+-/=?^_`{|}~";

    /// <summary>True when <paramref name="text"/> is exactly one addr-spec of the dot-atom form, at most 254 characters.</summary>
    public static bool IsAddrSpec(string? text)
    {
        if (text is not { Length: >= 3 and <= 254 })
        {
            return false;
        }

        var at = text.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || at > 64 || text.IndexOf('@', at + 1) >= 0)
        {
            return false;
        }

        return IsDotAtom(text.AsSpan(0, at)) && IsDomain(text.AsSpan(at + 1));
    }

    private static bool IsDotAtom(ReadOnlySpan<char> local)
    {
        foreach (var atom in local.ToString().Split('.'))
        {
            // Empty atoms are a leading, trailing or doubled dot.
            if (atom.Length == 0 || !atom.All(c => char.IsAsciiLetterOrDigit(c) || AtextSymbols.Contains(c, StringComparison.Ordinal) || IsInternationalLetterOrDigit(c)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Host name labels (letters, digits, inner hyphens), at least two: a mail domain on the internet has a dot.</summary>
    private static bool IsDomain(ReadOnlySpan<char> domain)
    {
        var labels = domain.ToString().Split('.');
        return domain.Length <= 253 && labels.Length >= 2 && labels.All(label =>
            label.Length is >= 1 and <= 63 && label[0] != '-' && label[^1] != '-'
            && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-' || IsInternationalLetterOrDigit(c)));
    }

    // RFC 6531 allows UTF-8 in addresses; letters and digits only, never a look-alike space, bracket or control.
    private static bool IsInternationalLetterOrDigit(char c) => c > 127 && (char.IsLetterOrDigit(c) || char.GetUnicodeCategory(c) is
        System.Globalization.UnicodeCategory.NonSpacingMark or System.Globalization.UnicodeCategory.SpacingCombiningMark);
}
