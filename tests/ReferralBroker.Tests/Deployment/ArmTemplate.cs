using System.Text.Json.Nodes;

namespace ReferralBroker.Tests.Deployment;

/// <summary>
/// A compiled ARM template and the templates of the deployments (Bicep modules) nested in it, each with the
/// parameter values known before deployment: defaults, and what the enclosing template passes.
/// </summary>
internal sealed class ArmTemplate
{
    private ArmTemplate(string name, JsonObject json, IReadOnlyDictionary<string, JsonNode?> parameterValues)
    {
        Name = name;
        Json = json;
        Scope = new ArmScope(json["variables"] as JsonObject ?? [], parameterValues);
        var declared = json["resources"] switch
        {
            JsonArray array => array.OfType<JsonObject>(),
            // languageVersion 2.0 keys resources by their symbolic names; 'existing' ones deploy nothing.
            JsonObject symbolic => symbolic.Select(p => p.Value).OfType<JsonObject>(),
            _ => [],
        };
        Resources = [.. declared.Where(r => r["existing"]?.GetValue<bool>() != true).Select(r => new ArmResource(this, r))];
        Nested = [.. Resources.Where(r => r.Type == "Microsoft.Resources/deployments" && r.Json["properties"]?["template"] is JsonObject)
            .Select(r => Load(r.Leaf ?? r.Json["name"]!.ToString(), (JsonObject)r.Json["properties"]!["template"]!, PassedParameters(r)))];
    }

    /// <summary>"main" or the deployment (module) name.</summary>
    public string Name { get; }

    public JsonObject Json { get; }

    public ArmScope Scope { get; }

    public IReadOnlyList<ArmResource> Resources { get; }

    public IReadOnlyList<ArmTemplate> Nested { get; }

    public IEnumerable<ArmTemplate> SelfAndNested => Nested.SelectMany(n => n.SelfAndNested).Prepend(this);

    public IEnumerable<KeyValuePair<string, JsonObject>> Parameters =>
        (Json["parameters"] as JsonObject ?? []).Where(p => p.Value is JsonObject).Select(p => KeyValuePair.Create(p.Key, (JsonObject)p.Value!));

    public IEnumerable<string> Outputs => (Json["outputs"] as JsonObject ?? []).Select(p => p.Key);

    public static ArmTemplate Load(JsonObject json) => Load("main", json, new Dictionary<string, JsonNode?>());

    private static ArmTemplate Load(string name, JsonObject json, Dictionary<string, JsonNode?> passed)
    {
        // A parameter's default may refer to variables, so defaults are evaluated in a scope without parameters.
        var withoutParameters = new ArmScope(json["variables"] as JsonObject ?? [], new Dictionary<string, JsonNode?>());
        var values = new Dictionary<string, JsonNode?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (parameter, declaration) in json["parameters"] as JsonObject ?? [])
        {
            values[parameter] = passed.TryGetValue(parameter, out var value) ? value
                : declaration?["defaultValue"] is { } defaultValue ? withoutParameters.Resolve(defaultValue) : null;
        }

        return new ArmTemplate(name, json, values);
    }

    /// <summary>What a deployment passes its template, evaluated where the deployment is declared.</summary>
    private Dictionary<string, JsonNode?> PassedParameters(ArmResource deployment) =>
        (deployment.Json["properties"]?["parameters"] as JsonObject ?? [])
            .ToDictionary(p => p.Key, p => p.Value?["value"] is { } value ? Scope.Resolve(value) : null, StringComparer.OrdinalIgnoreCase);
}

/// <summary>One resource of a compiled template.</summary>
internal sealed class ArmResource
{
    public ArmResource(ArmTemplate template, JsonObject json)
    {
        Template = template;
        Json = json;
        Type = json["type"]?.GetValue<string>() ?? throw new FormatException($"A resource without a type: {json.ToJsonString()}");
        var name = ArmExpression.FromJson(json["name"]);
        Segments = name switch
        {
            { LiteralString: { } literal } => [.. literal.Split('/').Select(s => new ArmExpression.Literal(JsonValue.Create(s)))],
            // Bicep names a child resource format('{0}/{1}/…', parent segments…, own name).
            _ when name.IsCall("format", out var arguments) && arguments[0].LiteralString is { } format
                && format == string.Join('/', Enumerable.Range(0, arguments.Count - 1).Select(i => $"{{{i}}}")) => [.. arguments.Skip(1)],
            _ => [name],
        };
        Leaf = Segments[^1].Evaluate(template.Scope) is JsonValue leaf && leaf.TryGetValue<string>(out var text) ? text : null;
    }

    public ArmTemplate Template { get; }

    public JsonObject Json { get; }

    public string Type { get; }

    /// <summary>The name's segments, parents first (a subscription: namespace, topic, subscription).</summary>
    public IReadOnlyList<ArmExpression> Segments { get; }

    /// <summary>The resource's own name, when the template alone determines it.</summary>
    public string? Leaf { get; }

    /// <summary>The value at a dotted path (<c>properties.sku.name</c>), raw as compiled.</summary>
    public JsonNode? At(string path) =>
        path.Split('.').Aggregate((JsonNode?)Json, (node, key) => node is JsonObject o && o.TryGetPropertyValue(key, out var v) ? v : null);

    /// <summary>The value at <paramref name="path"/> as an expression (literals included).</summary>
    public ArmExpression? ExpressionAt(string path) => At(path) is { } node ? ArmExpression.FromJson(node) : null;

    /// <summary>The value at <paramref name="path"/>, evaluated as far as the template allows.</summary>
    public JsonNode? ValueAt(string path) => At(path) is { } node ? Template.Scope.Resolve(node) : null;

    /// <summary>Whether <paramref name="expression"/> is <c>resourceId(type, segments…)</c> of this resource.</summary>
    public bool IsIdentifiedBy(ArmExpression? expression) =>
        expression is not null && expression.IsCall("resourceId", out var arguments)
        && arguments.Count == Segments.Count + 1
        && arguments[0].LiteralString == Type
        && arguments.Skip(1).Zip(Segments).All(pair => pair.First.SameAs(pair.Second));

    /// <summary><c>reference(resourceId(…this…), apiVersion).property</c>: a run-time property of this resource.</summary>
    public bool IsPropertyReference(ArmExpression? expression, string property) =>
        expression is ArmExpression.Property p && p.Name == property
        && p.Target.IsCall("reference", out var arguments) && arguments.Count > 0 && IsIdentifiedBy(arguments[0]);

    public bool IsChildOf(ArmResource parent) =>
        Type.StartsWith(parent.Type + "/", StringComparison.Ordinal)
        && Type.Count(c => c == '/') == parent.Type.Count(c => c == '/') + 1
        && Segments.Count == parent.Segments.Count + 1
        && parent.Segments.Zip(Segments).All(pair => pair.First.SameAs(pair.Second));

    public override string ToString() => $"{Type} '{Leaf ?? Segments[^1].ToString()}'";
}
