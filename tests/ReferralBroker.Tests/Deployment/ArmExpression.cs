using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace ReferralBroker.Tests.Deployment;

/// <summary>
/// An ARM template language expression as the Bicep compiler emits it (<c>"[format('{0}', variables('x'))]"</c>):
/// function calls, string and integer literals, property access and indexing. Enough to compare references
/// structurally and to evaluate what is knowable before deployment (literals, variables, parameter defaults).
/// </summary>
internal abstract record ArmExpression
{
    public sealed record Literal(JsonNode? Value) : ArmExpression;

    public sealed record Call(string Function, IReadOnlyList<ArmExpression> Arguments) : ArmExpression;

    public sealed record Property(ArmExpression Target, string Name) : ArmExpression;

    public sealed record Index(ArmExpression Target, ArmExpression Key) : ArmExpression;

    /// <summary>A JSON string value: an expression if it is bracketed, otherwise a literal (<c>[[</c> escapes a literal '[').</summary>
    public static ArmExpression FromJsonString(string value)
    {
        if (value.StartsWith("[[", StringComparison.Ordinal))
        {
            return new Literal(JsonValue.Create(value[1..]));
        }

        if (value.Length >= 2 && value[0] == '[' && value[^1] == ']')
        {
            var parser = new Parser(value[1..^1]);
            var expression = parser.ParseExpression();
            parser.ExpectEnd();
            return expression;
        }

        return new Literal(JsonValue.Create(value));
    }

    /// <summary>A JSON value of a template: strings may be expressions, anything else is a literal.</summary>
    public static ArmExpression FromJson(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? FromJsonString(text) : new Literal(node?.DeepClone());

    /// <summary>The literal string, if this is one.</summary>
    public string? LiteralString => this is Literal { Value: JsonValue v } && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>A call to <paramref name="function"/> (ARM function names are case-insensitive).</summary>
    public bool IsCall(string function, out IReadOnlyList<ArmExpression> arguments)
    {
        if (this is Call call && string.Equals(call.Function, function, StringComparison.OrdinalIgnoreCase))
        {
            arguments = call.Arguments;
            return true;
        }

        arguments = [];
        return false;
    }

    /// <summary>One canonical spelling, for messages and for comparing two expressions.</summary>
    public sealed override string ToString() => this switch
    {
        Literal { Value: JsonValue v } when v.TryGetValue<string>(out var s) => $"'{s.Replace("'", "''", StringComparison.Ordinal)}'",
        Literal literal => literal.Value?.ToJsonString() ?? "null()",
        Call call => $"{call.Function}({string.Join(", ", call.Arguments)})",
        Property property => $"{property.Target}.{property.Name}",
        Index index => $"{index.Target}[{index.Key}]",
        _ => throw new InvalidOperationException(),
    };

    public bool SameAs(ArmExpression? other) => other is not null && ToString() == other.ToString();

    /// <summary>
    /// The value, when it follows from the template alone (literals, variables, known parameters and the functions
    /// below); null when it is only known at deployment (reference(), resourceGroup(), uniqueString() …).
    /// </summary>
    public JsonNode? Evaluate(ArmScope scope)
    {
        switch (this)
        {
            case Literal literal:
                return literal.Value?.DeepClone();
            case Property property:
                return property.Target.Evaluate(scope) is JsonObject target && target.TryGetPropertyValue(property.Name, out var value) ? value?.DeepClone() : null;
            case Index index:
                return (index.Target.Evaluate(scope), index.Key.Evaluate(scope)) switch
                {
                    (JsonArray a, JsonValue k) when k.TryGetValue<int>(out var i) && i >= 0 && i < a.Count => a[i]?.DeepClone(),
                    (JsonObject o, JsonValue k) when k.TryGetValue<string>(out var name) && o.TryGetPropertyValue(name, out var v) => v?.DeepClone(),
                    _ => null,
                };
            case Call call:
                var arguments = call.Arguments.Select(a => a.Evaluate(scope)).ToList();
                return call.Function.ToLowerInvariant() switch
                {
                    "variables" => Text(arguments, 0) is { } name ? scope.Variable(name) : null,
                    "parameters" => Text(arguments, 0) is { } name ? scope.Parameter(name) : null,
                    "format" when arguments.All(a => a is JsonValue) && Text(arguments, 0) is { } format =>
                        string.Format(CultureInfo.InvariantCulture, format, [.. arguments.Skip(1).Select(a => Scalar((JsonValue)a!))]),
                    "createobject" when arguments.Count % 2 == 0 && Enumerable.Range(0, arguments.Count / 2).All(i => Text(arguments, 2 * i) is not null) =>
                        new JsonObject(Enumerable.Range(0, arguments.Count / 2)
                            .Select(i => KeyValuePair.Create(Text(arguments, 2 * i)!, arguments[2 * i + 1]))),
                    "union" when arguments.Count > 0 && arguments.All(a => a is JsonObject) =>
                        new JsonObject(arguments.Cast<JsonObject>().SelectMany(o => o.Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())))
                            .GroupBy(p => p.Key, StringComparer.Ordinal).Select(g => g.Last())),
                    _ => null,
                };
            default:
                return null;
        }
    }

    private static string? Text(List<JsonNode?> arguments, int index) =>
        index < arguments.Count && arguments[index] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static string Scalar(JsonValue value) =>
        value.TryGetValue<string>(out var s) ? s : value.ToJsonString();

    private sealed class Parser(string text)
    {
        private int _position;

        public ArmExpression ParseExpression()
        {
            var expression = ParsePrimary();
            while (true)
            {
                SkipWhitespace();
                if (TryTake('.'))
                {
                    expression = new Property(expression, ParseIdentifier());
                }
                else if (TryTake('['))
                {
                    var key = ParseExpression();
                    Expect(']');
                    expression = new Index(expression, key);
                }
                else
                {
                    return expression;
                }
            }
        }

        public void ExpectEnd()
        {
            SkipWhitespace();
            if (_position != text.Length)
            {
                throw Error("end of expression");
            }
        }

        private ArmExpression ParsePrimary()
        {
            SkipWhitespace();
            if (_position >= text.Length)
            {
                throw Error("an expression");
            }

            var c = text[_position];
            if (c == '\'')
            {
                return new Literal(JsonValue.Create(ParseString()));
            }

            if (c == '-' || char.IsAsciiDigit(c))
            {
                var start = _position++;
                while (_position < text.Length && char.IsAsciiDigit(text[_position]))
                {
                    _position++;
                }

                return new Literal(JsonValue.Create(int.Parse(text[start.._position], CultureInfo.InvariantCulture)));
            }

            var name = ParseIdentifier();
            Expect('(');
            var arguments = new List<ArmExpression>();
            SkipWhitespace();
            if (!TryTake(')'))
            {
                do
                {
                    arguments.Add(ParseExpression());
                    SkipWhitespace();
                }
                while (TryTake(','));

                Expect(')');
            }

            return new Call(name, arguments);
        }

        private string ParseString()
        {
            var value = new StringBuilder();
            _position++;
            while (true)
            {
                if (_position >= text.Length)
                {
                    throw Error("the end of a string");
                }

                if (text[_position] == '\'')
                {
                    if (_position + 1 < text.Length && text[_position + 1] == '\'')
                    {
                        value.Append('\'');
                        _position += 2;
                        continue;
                    }

                    _position++;
                    return value.ToString();
                }

                value.Append(text[_position++]);
            }
        }

        private string ParseIdentifier()
        {
            SkipWhitespace();
            var start = _position;
            while (_position < text.Length && (char.IsAsciiLetterOrDigit(text[_position]) || text[_position] is '_' or '$'))
            {
                _position++;
            }

            return _position > start ? text[start.._position] : throw Error("a name");
        }

        private void Expect(char c)
        {
            SkipWhitespace();
            if (!TryTake(c))
            {
                throw Error($"'{c}'");
            }
        }

        private bool TryTake(char c)
        {
            if (_position < text.Length && text[_position] == c)
            {
                _position++;
                return true;
            }

            return false;
        }

        private void SkipWhitespace()
        {
            while (_position < text.Length && char.IsWhiteSpace(text[_position]))
            {
                _position++;
            }
        }

        private FormatException Error(string expected) =>
            new($"Expected {expected} at {_position} in the ARM expression [{text}].");
    }
}

/// <summary>What an expression can see: its template's variables and the parameter values known before deployment.</summary>
internal sealed class ArmScope(JsonObject variables, IReadOnlyDictionary<string, JsonNode?> parameters)
{
    public JsonNode? Variable(string name) =>
        variables.TryGetPropertyValue(name, out var value) ? Resolve(value) : null;

    public JsonNode? Parameter(string name) => parameters.TryGetValue(name, out var value) ? value?.DeepClone() : null;

    /// <summary>Evaluates expressions nested anywhere in a JSON value (variables may hold objects of expressions).</summary>
    public JsonNode? Resolve(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<string>(out _) => ArmExpression.FromJson(v).Evaluate(this),
        JsonObject o => new JsonObject(o.Select(p => KeyValuePair.Create(p.Key, Resolve(p.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Resolve)]),
        _ => node?.DeepClone(),
    };
}
