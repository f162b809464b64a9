using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace ReferralBroker.Pages;

/// <summary>
/// A piece of HTML that is safe to send. The only way to make one from text is <see cref="Format"/>, which encodes
/// every interpolated value unless it is already <see cref="Html"/>: a translation, a partner id or a typed code
/// can never become markup.
/// </summary>
internal readonly record struct Html(string Value)
{
    public static readonly Html Empty = new("");

    /// <summary>Every script passes through as itself (Thai stays three bytes, not an eight-byte entity): pages must stay small.</summary>
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    public static Html Format(ref HtmlBuilder html) => html.Build();

    public static Html Join(IEnumerable<Html> parts) => new(string.Concat(parts.Select(p => p.Value)));

    public static string Encode(string? text) => Encoder.Encode(text ?? "");

    public override string ToString() => Value;

    [InterpolatedStringHandler]
    public ref struct HtmlBuilder
    {
        private readonly StringBuilder _text;

        public HtmlBuilder(int literalLength, int formattedCount) => _text = new StringBuilder(literalLength + (formattedCount * 16));

        public readonly void AppendLiteral(string literal) => _text.Append(literal);

        public readonly void AppendFormatted(Html html) => _text.Append(html.Value);

        public readonly void AppendFormatted(string? text) => _text.Append(Encode(text));

        public readonly void AppendFormatted<T>(T value) => _text.Append(Encode(value?.ToString()));

        public readonly Html Build() => new(_text.ToString());
    }
}
