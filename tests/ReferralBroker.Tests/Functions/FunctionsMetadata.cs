using System.Text.Json;

namespace ReferralBroker.Tests.Functions;

/// <summary>One function as the Worker SDK wrote it into functions.metadata at build.</summary>
internal sealed record FunctionEntry(
    string Name, string EntryPoint, string Trigger, string? Route, IReadOnlyList<string> Methods, string? AuthLevel, string? Schedule);

/// <summary>
/// The Functions project's build output. The test project references the project, so every test build builds it
/// and regenerates its functions.metadata first: what is read here is what would be deployed.
/// </summary>
internal static class FunctionsMetadata
{
    /// <summary>functions/ReferralBroker.Functions/bin/&lt;configuration&gt;/net10.0, the configuration this test run was built in.</summary>
    public static string OutputDirectory
    {
        get
        {
            var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            return Path.Combine(Browser.Pages.RepositoryRoot, "functions", "ReferralBroker.Functions", "bin", testOutput.Parent!.Name, testOutput.Name);
        }
    }

    public static IReadOnlyList<FunctionEntry> Read()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(OutputDirectory, "functions.metadata")));
        return [.. document.RootElement.EnumerateArray().Select(function =>
        {
            var trigger = function.GetProperty("bindings").EnumerateArray()
                .Single(b => b.GetProperty("direction").GetString()!.Equals("in", StringComparison.OrdinalIgnoreCase));
            return new FunctionEntry(
                function.GetProperty("name").GetString()!,
                function.GetProperty("entryPoint").GetString()!,
                trigger.GetProperty("type").GetString()!,
                Text(trigger, "route"),
                trigger.TryGetProperty("methods", out var methods) ? [.. methods.EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant())] : [],
                Text(trigger, "authLevel"),
                Text(trigger, "schedule"));
        })];
    }

    private static string? Text(JsonElement element, string name) => element.TryGetProperty(name, out var value) ? value.GetString() : null;
}
