using System.Text.Json;

namespace ReferralBroker.Tests.Deployment;

/// <summary>
/// The deployment as the repository describes it: infra/main.bicep with the modules it uses, the azd parameters
/// file and every function.json. An optional edit lets tests apply a mutation in memory and see a check fail.
/// </summary>
internal sealed class InfraSnapshot
{
    public const string MainPath = "infra/main.bicep";
    public const string ParametersPath = "infra/main.parameters.json";
    public const string DefinitionsPath = "functions/definitions";
    public const string AzureYamlPath = "azure.yaml";

    public required BicepTemplate Main { get; init; }

    /// <summary>The local modules main.bicep deploys, in order.</summary>
    public required IReadOnlyList<BicepTemplate> Modules { get; init; }

    public required string ParametersJson { get; init; }
    public required string AzureYaml { get; init; }
    public required IReadOnlyList<InfraFunction> Functions { get; init; }

    public IEnumerable<BicepTemplate> Templates => [Main, .. Modules];

    public IEnumerable<BicepResource> Resources => Templates.SelectMany(t => t.Resources);

    /// <param name="edit">Given a path relative to the repository root and the file's text, returns the text to use.</param>
    public static InfraSnapshot Load(string repoRoot, Func<string, string, string>? edit = null)
    {
        string Read(string relativePath)
        {
            var text = File.ReadAllText(Path.Combine(repoRoot, relativePath)).ReplaceLineEndings("\n");
            return edit is null ? text : edit(relativePath, text);
        }

        var main = BicepTemplate.Parse(Read(MainPath), MainPath);
        var modules = new List<BicepTemplate>();
        foreach (var module in main.Modules)
        {
            // Registry and template-spec modules ('br:', 'ts:') are not ours to check.
            if (module.Path.Contains(':', StringComparison.Ordinal))
            {
                continue;
            }

            var relative = Path.GetRelativePath(
                repoRoot, Path.GetFullPath(Path.Combine(repoRoot, "infra", module.Path))).Replace('\\', '/');
            modules.Add(BicepTemplate.Parse(Read(relative), relative));
        }

        var functions = new List<InfraFunction>();
        foreach (var directory in Directory.GetDirectories(Path.Combine(repoRoot, DefinitionsPath)).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(directory);
            var relative = $"{DefinitionsPath}/{name}/function.json";
            if (!File.Exists(Path.Combine(repoRoot, relative)))
            {
                continue;
            }

            using var document = JsonDocument.Parse(Read(relative));
            functions.Add(new InfraFunction(name, relative, document.RootElement.Clone()));
        }

        return new InfraSnapshot
        {
            Main = main,
            Modules = modules,
            ParametersJson = Read(ParametersPath),
            AzureYaml = Read(AzureYamlPath),
            Functions = functions,
        };
    }

    /// <summary>The directory holding ReferralBroker.sln, found by walking up from the test binaries.</summary>
    public static string FindRepoRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ReferralBroker.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No ReferralBroker.sln above {AppContext.BaseDirectory}.");
    }

    /// <summary>The template that declares <paramref name="resource"/>, for resolving its symbols and variables.</summary>
    public BicepTemplate TemplateOf(BicepResource resource) => Templates.First(t => t.FileName == resource.FileName);
}

internal sealed record InfraFunction(string Name, string Path, JsonElement Root)
{
    public IEnumerable<JsonElement> Bindings =>
        Root.TryGetProperty("bindings", out var bindings) && bindings.ValueKind == JsonValueKind.Array
            ? bindings.EnumerateArray()
            : [];

    public static string? StringProperty(JsonElement binding, string name) =>
        binding.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
