using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using System.Text.Json;

namespace ReferralBroker.Tests.Deployment;

/// <summary>One diagnostic of <c>bicep build</c> or <c>bicep lint</c>, read from its SARIF output.</summary>
internal sealed record BicepDiagnostic(string File, int Line, string Level, string Code, string Message)
{
    public override string ToString() => $"{File}({Line}): {Level} {Code}: {Message}";
}

/// <summary>
/// The real Bicep compiler, from the NuGet package Azure.Bicep.CommandLine.linux-x64 that the test project restores
/// (its path arrives as the assembly metadata <c>BicepPackagePath</c>). Diagnostics are read as SARIF, so a warning
/// cannot hide in free text.
/// </summary>
internal static class BicepCli
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);
    private static readonly Lazy<string> Executable = new(LocateExecutable);

    public sealed record Result(int ExitCode, string Stdout, IReadOnlyList<BicepDiagnostic> Diagnostics);

    /// <summary><c>bicep build FILE --stdout</c>: the ARM JSON on stdout, diagnostics (compiler and linter) beside it.</summary>
    public static Result BuildToStdout(string bicepFile) =>
        Run(Path.GetDirectoryName(bicepFile)!, SarifOn.Stderr, "build", bicepFile, "--stdout", "--diagnostics-format", "sarif");

    /// <summary>
    /// <c>bicep build --pattern</c> in <paramref name="workingDirectory"/>: one process compiles every matching file
    /// next to itself (main.bicep → main.json); a file that fails to compile leaves no JSON and does not stop the others.
    /// </summary>
    public static Result BuildAll(string workingDirectory, string pattern) =>
        Run(workingDirectory, SarifOn.Stderr, "build", "--pattern", pattern, "--diagnostics-format", "sarif");

    public static Result Lint(string bicepFile) =>
        Run(Path.GetDirectoryName(bicepFile)!, SarifOn.Stdout, "lint", bicepFile, "--diagnostics-format", "sarif");

    public static Result LintAll(string workingDirectory, string pattern) =>
        Run(workingDirectory, SarifOn.Stdout, "lint", "--pattern", pattern, "--diagnostics-format", "sarif");

    // build writes its diagnostics to stderr (stdout may hold the template), lint writes them to stdout.
    private enum SarifOn { Stdout, Stderr }

    private static Result Run(string workingDirectory, SarifOn sarifOn, params string[] arguments)
    {
        var start = new ProcessStartInfo(Executable.Value)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} did not finish in {Timeout}.");
        }

        process.WaitForExit();
        var sarif = sarifOn == SarifOn.Stdout ? stdout.Result : stderr.Result;
        return new Result(process.ExitCode, sarifOn == SarifOn.Stdout ? "" : stdout.Result, ParseSarif(sarif).ToList());
    }

    /// <summary>Reads one or more concatenated SARIF documents (one per compiled file).</summary>
    internal static IEnumerable<BicepDiagnostic> ParseSarif(string text)
    {
        var diagnostics = new List<BicepDiagnostic>();
        var bytes = Encoding.UTF8.GetBytes(text);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { AllowMultipleValues = true });
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new FormatException($"Expected SARIF from bicep, got: {text}");
            }

            using var document = JsonDocument.ParseValue(ref reader);
            foreach (var run in document.RootElement.GetProperty("runs").EnumerateArray())
            {
                foreach (var result in run.GetProperty("results").EnumerateArray())
                {
                    var location = result.GetProperty("locations")[0].GetProperty("physicalLocation");
                    diagnostics.Add(new BicepDiagnostic(
                        new Uri(location.GetProperty("artifactLocation").GetProperty("uri").GetString()!).LocalPath,
                        location.GetProperty("region").GetProperty("startLine").GetInt32(),
                        // SARIF's default level is "warning"; bicep omits it for linter warnings.
                        result.TryGetProperty("level", out var level) ? level.GetString()! : "warning",
                        result.GetProperty("ruleId").GetString()!,
                        result.GetProperty("message").GetProperty("text").GetString()!));
                }
            }
        }

        return diagnostics;
    }

    private static string LocateExecutable()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || RuntimeInformation.OSArchitecture != Architecture.X64)
        {
            throw new PlatformNotSupportedException(
                "The infra tests run the Bicep CLI from Azure.Bicep.CommandLine.linux-x64, which needs Linux x64.");
        }

        var package = typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(a => a.Key == "BicepPackagePath")?.Value;
        if (string.IsNullOrEmpty(package))
        {
            throw new InvalidOperationException("The test assembly carries no BicepPackagePath: restore the test project.");
        }

        return ExecutableIn(package, Path.GetTempPath());
    }

    /// <summary>
    /// tools/bicep of the package, or, if it has lost its execute bit in the NuGet cache (extraction does not always
    /// keep it), a private copy with the bit set under <paramref name="copies"/>, made once per binary.
    /// </summary>
    [UnsupportedOSPlatform("windows")]
    internal static string ExecutableIn(string package, string copies)
    {
        var bicep = Path.Combine(package, "tools", "bicep");
        if (!File.Exists(bicep))
        {
            throw new FileNotFoundException("The Bicep CLI is not in its restored package.", bicep);
        }

        if (File.GetUnixFileMode(bicep).HasFlag(UnixFileMode.UserExecute))
        {
            return bicep;
        }

        var source = new FileInfo(bicep);
        var folder = Directory.CreateDirectory(Path.Combine(copies, $"referralbroker-bicep-{source.Length}-{source.LastWriteTimeUtc.Ticks}"));
        var copy = Path.Combine(folder.FullName, "bicep");
        if (!File.Exists(copy))
        {
            // Copy, then rename: another test process may be doing the same at this moment.
            var partial = Path.Combine(folder.FullName, $"bicep.{Guid.NewGuid():N}");
            File.Copy(bicep, partial);
            File.SetUnixFileMode(partial, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.Move(partial, copy, overwrite: true);
        }

        return copy;
    }
}
