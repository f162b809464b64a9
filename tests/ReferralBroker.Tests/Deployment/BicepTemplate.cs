using System.Globalization;
using System.Text;

namespace ReferralBroker.Tests.Deployment;

/// <summary>
/// What the infrastructure tests need to know about one Bicep file, read without a Bicep compiler: its target scope,
/// parameters, variables, resources (nested child resources flattened, with their full type), modules and outputs.
/// </summary>
/// <remarks>
/// A reader for the conventional subset our templates use, not a Bicep parser: values are objects, arrays, strings
/// (with interpolation kept raw), booleans, integers, or any other expression kept as raw text. Resource loops are
/// refused on purpose, so that every subscription, rule and role assignment can be checked literally.
/// </remarks>
internal sealed class BicepTemplate
{
    public required string FileName { get; init; }
    public required string Text { get; init; }
    public string? TargetScope { get; init; }
    public required IReadOnlyList<BicepParam> Params { get; init; }
    public required IReadOnlyDictionary<string, BicepValue> Vars { get; init; }
    public required IReadOnlyList<BicepResource> Resources { get; init; }
    public required IReadOnlyList<BicepModule> Modules { get; init; }
    public required IReadOnlyList<string> Outputs { get; init; }

    public static BicepTemplate Parse(string text, string fileName) => new BicepReader(text, fileName).ReadTemplate();
}

internal sealed record BicepParam(string Name, string Type, bool HasDefault, IReadOnlyList<string> Decorators)
{
    public bool IsSecure => Decorators.Any(d => d.StartsWith("@secure", StringComparison.Ordinal));
}

internal sealed record BicepModule(string Symbol, string Path, BicepValue Body, string FileName);

/// <param name="Type">Full resource type without the API version, e.g. <c>Microsoft.ServiceBus/namespaces/topics</c>.</param>
/// <param name="Condition">The raw <c>if (…)</c> condition of a conditional resource.</param>
/// <param name="ParentSymbol">The enclosing resource of a nested declaration, or the raw <c>parent:</c> value.</param>
internal sealed record BicepResource(
    string Symbol, string Type, string ApiVersion, string? Condition, BicepValue Body, string? ParentSymbol, string FileName)
{
    /// <summary>The literal name, or null when the name is an expression.</summary>
    public string? Name => Body["name"]?.Text;

    public BicepValue? Properties => Body["properties"];

    public override string ToString() => $"{Symbol} ({Type}, {FileName})";
}

internal enum BicepKind
{
    Object,
    Array,
    Text,
    Boolean,
    Integer,
    Expression,
}

internal sealed class BicepValue
{
    private static readonly IReadOnlyList<KeyValuePair<string, BicepValue>> NoProperties = [];

    public required BicepKind Kind { get; init; }

    /// <summary>The source text of the value, trimmed.</summary>
    public required string Raw { get; init; }

    /// <summary>A string literal's value (escapes resolved); null for interpolated strings and other kinds.</summary>
    public string? Text { get; init; }

    public bool? Boolean { get; init; }
    public long? Integer { get; init; }
    public IReadOnlyList<KeyValuePair<string, BicepValue>> Properties { get; init; } = NoProperties;
    public IReadOnlyList<BicepValue> Items { get; init; } = [];

    /// <summary>Child resources declared inside a resource body.</summary>
    public IReadOnlyList<BicepResource> NestedResources { get; init; } = [];

    public BicepValue? this[string key] =>
        Properties.Where(p => p.Key == key).Select(p => p.Value).FirstOrDefault();

    /// <summary>Follows a dotted path of property names, e.g. <c>properties.sqlFilter.sqlExpression</c>.</summary>
    public BicepValue? At(string path)
    {
        BicepValue? current = this;
        foreach (var segment in path.Split('.'))
        {
            current = current?[segment];
        }

        return current;
    }

    public override string ToString() => Raw;
}

internal sealed class BicepReader(string text, string fileName)
{
    private readonly string _text = text;
    private readonly string _file = fileName;
    private int _pos;

    public BicepTemplate ReadTemplate()
    {
        string? targetScope = null;
        var parameters = new List<BicepParam>();
        var vars = new Dictionary<string, BicepValue>(StringComparer.Ordinal);
        var resources = new List<BicepResource>();
        var modules = new List<BicepModule>();
        var outputs = new List<string>();
        var decorators = new List<string>();

        while (true)
        {
            SkipTrivia(newlines: true, commas: false);
            if (AtEnd)
            {
                break;
            }

            if (Peek() == '@')
            {
                decorators.Add(ReadDecorator());
                continue;
            }

            var keyword = ReadIdentifier();
            switch (keyword)
            {
                case "targetScope":
                    SkipTrivia();
                    Expect('=');
                    targetScope = Classify(ReadExpression()).Text;
                    break;
                case "param":
                    parameters.Add(ReadParam(decorators));
                    break;
                case "var":
                {
                    SkipTrivia();
                    var name = ReadIdentifier();
                    SkipTrivia();
                    Expect('=');
                    vars[name] = ReadValue(owner: null, resources);
                    break;
                }
                case "resource":
                    ReadResource(owner: null, resources);
                    break;
                case "module":
                    modules.Add(ReadModule(resources));
                    break;
                case "output":
                    SkipTrivia();
                    outputs.Add(ReadIdentifier());
                    ReadExpression();
                    break;
                case "type" or "metadata" or "import" or "func":
                    ReadExpression();
                    break;
                default:
                    throw Error($"unexpected '{keyword}' at the start of a statement");
            }

            decorators.Clear();
        }

        return new BicepTemplate
        {
            FileName = _file,
            Text = _text,
            TargetScope = targetScope,
            Params = parameters,
            Vars = vars,
            Resources = resources,
            Modules = modules,
            Outputs = outputs,
        };
    }

    private bool AtEnd => _pos >= _text.Length;

    private char Peek(int offset = 0) => _pos + offset < _text.Length ? _text[_pos + offset] : '\0';

    private BicepParam ReadParam(List<string> decorators)
    {
        SkipTrivia();
        var name = ReadIdentifier();
        var rest = ReadExpression();
        var assign = IndexOutsideStrings(rest, '=');
        var type = (assign < 0 ? rest : rest[..assign]).Trim();
        return new BicepParam(name, type, assign >= 0, [.. decorators]);
    }

    private BicepModule ReadModule(List<BicepResource> resources)
    {
        SkipTrivia();
        var symbol = ReadIdentifier();
        SkipTrivia();
        var path = ReadStringLiteral();
        SkipTrivia();
        Expect('=');
        SkipTrivia();
        if (LookingAtWord("if"))
        {
            _pos += 2;
            SkipTrivia();
            ReadGroup();
            SkipTrivia();
        }

        var body = ReadValue(owner: null, resources);
        if (body.Kind != BicepKind.Object)
        {
            throw Error($"module '{symbol}' must have an object body (no loops: the infrastructure tests read it literally)");
        }

        return new BicepModule(symbol, path, body, _file);
    }

    /// <summary>Reads <c>resource sym 'Type@version' [existing] = [if (cond)] { … }</c>; nested ones go to the same list.</summary>
    private void ReadResource(BicepResource? owner, List<BicepResource> resources)
    {
        SkipTrivia();
        var symbol = ReadIdentifier();
        SkipTrivia();
        var typeText = ReadStringLiteral();
        SkipTrivia();
        if (LookingAtWord("existing"))
        {
            _pos += "existing".Length;
            SkipTrivia();
        }

        Expect('=');
        SkipTrivia();
        string? condition = null;
        if (LookingAtWord("if"))
        {
            _pos += 2;
            SkipTrivia();
            condition = ReadGroup();
            SkipTrivia(newlines: true, commas: false);
        }

        if (Peek() != '{')
        {
            throw Error($"resource '{symbol}' must have an object body (no loops: the infrastructure tests read it literally)");
        }

        string type;
        string apiVersion;
        var at = typeText.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            type = typeText[..at];
            apiVersion = typeText[(at + 1)..];
        }
        else if (owner is not null)
        {
            type = owner.Type + "/" + typeText;
            apiVersion = owner.ApiVersion;
        }
        else
        {
            throw Error($"resource '{symbol}' has no API version in '{typeText}'");
        }

        // The body is read with a placeholder owner so that nested resources know their parent's type; the record
        // is completed once the body is known.
        var header = new BicepResource(symbol, type, apiVersion, condition, Empty, owner?.Symbol, _file);
        var nested = new List<BicepResource>();
        var body = ReadObject(header, nested);
        var parent = owner?.Symbol ?? body["parent"]?.Raw;
        resources.Add(header with { Body = body, ParentSymbol = parent });
        resources.AddRange(nested);
    }

    private static readonly BicepValue Empty = new() { Kind = BicepKind.Object, Raw = "{}" };

    private BicepValue ReadValue(BicepResource? owner, List<BicepResource> resources)
    {
        SkipTrivia();
        var start = _pos;
        if (Peek() == '{')
        {
            var value = ReadObject(owner, resources);
            EnsureValueEnds(start);
            return value;
        }

        if (Peek() == '[' && !ArrayIsForExpression())
        {
            var value = ReadArray(resources);
            EnsureValueEnds(start);
            return value;
        }

        return Classify(ReadExpression());
    }

    private void EnsureValueEnds(int start)
    {
        SkipTrivia();
        if (!AtEnd && Peek() is not ('\n' or '\r' or ',' or '}' or ']' or ')'))
        {
            throw Error($"value starting '{Excerpt(start)}' continues after its closing bracket; keep it simple for the reader");
        }
    }

    private bool ArrayIsForExpression()
    {
        var save = _pos;
        _pos++;
        SkipTrivia(newlines: true, commas: false);
        var isFor = LookingAtWord("for");
        _pos = save;
        return isFor;
    }

    private BicepValue ReadObject(BicepResource? owner, List<BicepResource> resources)
    {
        var start = _pos;
        Expect('{');
        var properties = new List<KeyValuePair<string, BicepValue>>();
        var nested = new List<BicepResource>();
        while (true)
        {
            SkipTrivia(newlines: true, commas: true);
            if (AtEnd)
            {
                throw Error("unterminated object");
            }

            if (Peek() == '}')
            {
                _pos++;
                break;
            }

            string key;
            if (Peek() == '\'')
            {
                var raw = ReadStringLiteralRaw();
                key = Unescape(raw) ?? raw;
            }
            else
            {
                key = ReadIdentifier();
            }

            SkipTrivia();
            if (key == "resource" && owner is not null && Peek() != ':')
            {
                ReadResource(owner, nested);
                continue;
            }

            Expect(':');
            properties.Add(new(key, ReadValue(owner: null, resources)));
        }

        resources.AddRange(nested);
        return new BicepValue
        {
            Kind = BicepKind.Object,
            Raw = _text[start.._pos],
            Properties = properties,
            NestedResources = nested,
        };
    }

    private BicepValue ReadArray(List<BicepResource> resources)
    {
        var start = _pos;
        Expect('[');
        var items = new List<BicepValue>();
        while (true)
        {
            SkipTrivia(newlines: true, commas: true);
            if (AtEnd)
            {
                throw Error("unterminated array");
            }

            if (Peek() == ']')
            {
                _pos++;
                break;
            }

            items.Add(ReadValue(owner: null, resources));
        }

        return new BicepValue { Kind = BicepKind.Array, Raw = _text[start.._pos], Items = items };
    }

    private static BicepValue Classify(string raw)
    {
        if (raw is "true" or "false")
        {
            return new BicepValue { Kind = BicepKind.Boolean, Raw = raw, Boolean = raw == "true" };
        }

        if (long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
        {
            return new BicepValue { Kind = BicepKind.Integer, Raw = raw, Integer = number };
        }

        if (raw.StartsWith('\'') && StringEnd(raw, 0) == raw.Length)
        {
            return new BicepValue { Kind = BicepKind.Text, Raw = raw, Text = Unescape(raw) };
        }

        return new BicepValue { Kind = BicepKind.Expression, Raw = raw };
    }

    /// <summary>An expression up to the end of its line (or a separator) at bracket depth zero.</summary>
    private string ReadExpression()
    {
        var start = _pos;
        var depth = 0;
        while (!AtEnd)
        {
            var c = Peek();
            if (c == '\'')
            {
                _pos = StringEnd(_text, _pos);
                continue;
            }

            if (c == '/' && Peek(1) == '/')
            {
                if (depth == 0)
                {
                    break;
                }

                SkipLineComment();
                continue;
            }

            if (c == '/' && Peek(1) == '*')
            {
                SkipBlockComment();
                continue;
            }

            if (c is '(' or '[' or '{')
            {
                depth++;
            }
            else if (c is ')' or ']' or '}')
            {
                if (depth == 0)
                {
                    break;
                }

                depth--;
            }
            else if (depth == 0 && c is ',' or '\n')
            {
                break;
            }

            _pos++;
        }

        var raw = _text[start.._pos].Trim();
        if (raw.Length == 0)
        {
            throw Error("expected a value");
        }

        return raw;
    }

    /// <summary>A bracketed group, <c>( … )</c>, returned with its brackets.</summary>
    private string ReadGroup()
    {
        var start = _pos;
        var open = Peek();
        var close = open switch
        {
            '(' => ')',
            '[' => ']',
            '{' => '}',
            _ => throw Error("expected a bracket"),
        };
        var depth = 0;
        while (!AtEnd)
        {
            var c = Peek();
            if (c == '\'')
            {
                _pos = StringEnd(_text, _pos);
                continue;
            }

            if (c == open)
            {
                depth++;
            }
            else if (c == close && --depth == 0)
            {
                _pos++;
                return _text[start.._pos];
            }

            _pos++;
        }

        throw Error("unterminated bracket");
    }

    private string ReadDecorator()
    {
        var start = _pos;
        Expect('@');
        ReadIdentifier();
        if (Peek() == '.')
        {
            _pos++;
            ReadIdentifier();
        }

        if (Peek() == '(')
        {
            ReadGroup();
        }

        return _text[start.._pos];
    }

    private string ReadIdentifier()
    {
        var start = _pos;
        while (!AtEnd && (char.IsAsciiLetterOrDigit(Peek()) || Peek() == '_'))
        {
            _pos++;
        }

        if (_pos == start || char.IsAsciiDigit(_text[start]))
        {
            throw Error("expected an identifier");
        }

        return _text[start.._pos];
    }

    private string ReadStringLiteral()
    {
        var raw = ReadStringLiteralRaw();
        return Unescape(raw) ?? throw Error($"expected a string without interpolation, found {raw}");
    }

    private string ReadStringLiteralRaw()
    {
        if (Peek() != '\'')
        {
            throw Error("expected a string");
        }

        var start = _pos;
        _pos = StringEnd(_text, _pos);
        return _text[start.._pos];
    }

    private bool LookingAtWord(string word) =>
        string.CompareOrdinal(_text, _pos, word, 0, word.Length) == 0
        && !(char.IsAsciiLetterOrDigit(Peek(word.Length)) || Peek(word.Length) == '_');

    private void Expect(char c)
    {
        if (Peek() != c)
        {
            throw Error($"expected '{c}'");
        }

        _pos++;
    }

    /// <summary>Skips spaces and comments; newlines (and commas) only when asked, since they separate values.</summary>
    private void SkipTrivia(bool newlines = false, bool commas = false)
    {
        while (!AtEnd)
        {
            var c = Peek();
            if (c is ' ' or '\t' or '\r' || (newlines && c == '\n') || (commas && c == ','))
            {
                _pos++;
            }
            else if (c == '/' && Peek(1) == '/')
            {
                SkipLineComment();
            }
            else if (c == '/' && Peek(1) == '*')
            {
                SkipBlockComment();
            }
            else
            {
                break;
            }
        }
    }

    private void SkipLineComment()
    {
        while (!AtEnd && Peek() != '\n')
        {
            _pos++;
        }
    }

    private void SkipBlockComment()
    {
        var end = _text.IndexOf("*/", _pos + 2, StringComparison.Ordinal);
        _pos = end < 0 ? throw Error("unterminated comment") : end + 2;
    }

    /// <summary>Index just past the string literal that starts at <paramref name="start"/>.</summary>
    private static int StringEnd(string text, int start)
    {
        if (string.CompareOrdinal(text, start, "'''", 0, 3) == 0)
        {
            var close = text.IndexOf("'''", start + 3, StringComparison.Ordinal);
            return close < 0 ? throw new FormatException("unterminated multi-line string") : close + 3;
        }

        var i = start + 1;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '\\')
            {
                i += 2;
            }
            else if (c == '\'')
            {
                return i + 1;
            }
            else if (c == '$' && i + 1 < text.Length && text[i + 1] == '{')
            {
                i = InterpolationEnd(text, i + 2);
            }
            else if (c == '\n')
            {
                throw new FormatException($"unterminated string starting {text[start..i]}");
            }
            else
            {
                i++;
            }
        }

        throw new FormatException("unterminated string");
    }

    private static int InterpolationEnd(string text, int i)
    {
        var depth = 1;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '\'')
            {
                i = StringEnd(text, i);
                continue;
            }

            if (c == '{')
            {
                depth++;
            }
            else if (c == '}' && --depth == 0)
            {
                return i + 1;
            }

            i++;
        }

        throw new FormatException("unterminated interpolation");
    }

    /// <summary>The value of a string literal, or null when it interpolates an expression.</summary>
    private static string? Unescape(string raw)
    {
        if (raw.StartsWith("'''", StringComparison.Ordinal))
        {
            return raw[3..^3];
        }

        var result = new StringBuilder();
        for (var i = 1; i < raw.Length - 1; i++)
        {
            var c = raw[i];
            if (c == '$' && raw[i + 1] == '{')
            {
                return null;
            }

            if (c == '\\')
            {
                i++;
                result.Append(raw[i] switch
                {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    var other => other,
                });
            }
            else
            {
                result.Append(c);
            }
        }

        return result.ToString();
    }

    private static int IndexOutsideStrings(string text, char wanted)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\'')
            {
                i = StringEnd(text, i) - 1;
            }
            else if (text[i] == wanted)
            {
                return i;
            }
        }

        return -1;
    }

    private string Excerpt(int start) => _text[start..Math.Min(_text.Length, start + 40)].ReplaceLineEndings(" ");

    private FormatException Error(string message)
    {
        var line = 1 + _text.AsSpan(0, Math.Min(_pos, _text.Length)).Count('\n');
        var column = _pos - _text.LastIndexOf('\n', Math.Max(0, Math.Min(_pos, _text.Length) - 1));
        return new FormatException($"{_file}:{line}:{column}: {message} (near '{Excerpt(Math.Min(_pos, _text.Length))}')");
    }
}
