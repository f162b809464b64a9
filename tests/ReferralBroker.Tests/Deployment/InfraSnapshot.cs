using System.Text.Json.Nodes;

namespace ReferralBroker.Tests.Deployment;

/// <summary>
/// The deployment as a folder describes it: infra/main.bicep compiled by the Bicep CLI (with its diagnostics and,
/// when asked, the linter's), the azd parameters file, azure.yaml and the README that tells the operator what to run.
/// </summary>
internal sealed class InfraSnapshot
{
    public const string MainPath = "infra/main.bicep";
    public const string ParametersPath = "infra/main.parameters.json";
    public const string AzureYamlPath = "azure.yaml";
    public const string ReadmePath = "README.md";

    private readonly ArmTemplate? _compiled;

    private InfraSnapshot(string root, string? compiledJson, IReadOnlyList<BicepDiagnostic> build, IReadOnlyList<BicepDiagnostic>? lint)
    {
        Root = root;
        CompiledJson = compiledJson;
        BuildDiagnostics = build;
        LintDiagnostics = lint;
        _compiled = compiledJson is null ? null : ArmTemplate.Load(JsonNode.Parse(compiledJson)!.AsObject());
        ParametersJson = Read(ParametersPath);
        AzureYaml = Read(AzureYamlPath);
        Readme = Read(ReadmePath);
        BicepSources = Directory.GetFiles(Path.Combine(root, "infra"), "*.bicep", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal).ToDictionary(path => Relative(path), File.ReadAllText, StringComparer.Ordinal);
    }

    /// <summary>The folder the files were read from: the repository, or a temporary copy with a drift applied.</summary>
    public string Root { get; }

    /// <summary>The repository itself (for what a copy does not hold, such as the Functions project).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The ARM JSON of main.bicep, or null if it did not compile.</summary>
    public string? CompiledJson { get; }

    public ArmTemplate Main => _compiled ?? throw new InvalidOperationException(
        $"{MainPath} does not compile:{Environment.NewLine}{string.Join(Environment.NewLine, BuildDiagnostics)}");

    public IReadOnlyList<BicepDiagnostic> BuildDiagnostics { get; }

    /// <summary>What <c>bicep lint</c> reported, or null where it was not run.</summary>
    public IReadOnlyList<BicepDiagnostic>? LintDiagnostics { get; }

    public string ParametersJson { get; }

    public string AzureYaml { get; }

    public string Readme { get; }

    /// <summary>Every .bicep file under infra/, by path relative to <see cref="Root"/>.</summary>
    public IReadOnlyDictionary<string, string> BicepSources { get; }

    public IEnumerable<ArmResource> Resources => Main.SelfAndNested.SelectMany(t => t.Resources);

    /// <summary>The repository's templates, compiled and linted once per test run.</summary>
    public static InfraSnapshot Repository => LazyRepository.Value;

    private static readonly Lazy<InfraSnapshot> LazyRepository = new(() =>
    {
        var main = Path.Combine(RepoRoot, MainPath);
        // To stdout: a build next to the sources would leave main.json in the working tree.
        var build = BicepCli.BuildToStdout(main);
        var lint = BicepCli.Lint(main);
        return new InfraSnapshot(RepoRoot, build.ExitCode == 0 ? build.Stdout : null, build.Diagnostics, lint.Diagnostics);
    });

    /// <summary>A copy compiled elsewhere (the drift cases compile all their copies in one bicep process).</summary>
    public static InfraSnapshot FromCompiledCopy(
        string root, string? compiledJson, IReadOnlyList<BicepDiagnostic> build, IReadOnlyList<BicepDiagnostic>? lint) =>
        new(root, compiledJson, build, lint);

    public string Relative(string path) => Path.GetRelativePath(Root, path).Replace('\\', '/');

    private string Read(string relativePath) => File.ReadAllText(Path.Combine(Root, relativePath)).ReplaceLineEndings("\n");

    /// <summary>The directory holding ReferralBroker.sln, found by walking up from the test binaries.</summary>
    private static string FindRepoRoot()
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
}
