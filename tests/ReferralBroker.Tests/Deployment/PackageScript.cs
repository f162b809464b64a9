using System.Diagnostics;
using System.Reflection;

namespace ReferralBroker.Tests.Deployment;

/// <summary>One run of scripts/package.sh.</summary>
internal sealed record PackageScriptRun(string Arguments, int ExitCode, string StandardOutput, string StandardError, TimeSpan Took)
{
    /// <summary>Fails the calling test with the script's own words unless it succeeded.</summary>
    public void AssertSucceeded() => Assert.True(ExitCode == 0,
        $"scripts/package.sh {Arguments} exited {ExitCode} after {Took.TotalSeconds:F0} s\n--- stdout\n{StandardOutput}\n--- stderr\n{StandardError}");

    /// <summary>The script prints the zip's (or the package folder's) path as its last line.</summary>
    public string LastLine => StandardOutput.TrimEnd().Split('\n')[^1];
}

/// <summary>Where the repository, the script and the app's framework-dependent build are, and how to run the script.</summary>
internal static class PackageScript
{
    public static string RepoRoot { get; } = FindRepoRoot();
    public static string ScriptPath => Path.Combine(RepoRoot, "scripts", "package.sh");
    public static string DefinitionsDirectory => Path.Combine(RepoRoot, "functions", "definitions");
    public static string SourceWebRoot => Path.Combine(RepoRoot, "functions", "ReferralBroker", "wwwroot");

    /// <summary>
    /// The app project's own build output for the configuration and framework of this test run
    /// (functions/ReferralBroker/bin/Debug/net10.0 beside tests/.../bin/Debug/net10.0): building the tests built it.
    /// </summary>
    public static string AppBuildDirectory
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = typeof(PackageScript).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration
                ?? output.Parent!.Name;
            return Path.Combine(RepoRoot, "functions", "ReferralBroker", "bin", configuration, output.Name);
        }
    }

    public static async Task<PackageScriptRun> RunAsync(TimeSpan timeout, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // Not the repo root: the script must work from any directory.
            WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add(ScriptPath);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // `dotnet test` hands its MSBuild location to the test host; a nested `dotnet publish` must find its own.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        var stopwatch = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("bash did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return new PackageScriptRun(string.Join(' ', arguments), -1, await stdout,
                $"{await stderr}\n(killed after {timeout.TotalSeconds:F0} s)", stopwatch.Elapsed);
        }

        return new PackageScriptRun(string.Join(' ', arguments), process.ExitCode, await stdout, await stderr, stopwatch.Elapsed);
    }

    private static string FindRepoRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "host.json")) && File.Exists(Path.Combine(directory.FullName, "scripts", "package.sh")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No repository root (host.json and scripts/package.sh) above {AppContext.BaseDirectory}");
    }
}

/// <summary>
/// The package as the real script lays it out, once per test class, without the self-contained publish:
/// <c>scripts/package.sh --layout-only DIR --from &lt;the app's framework-dependent build&gt; --zip DIR.zip</c>.
/// Everything but the publish command is the same code as a full package (a couple of seconds instead of a minute).
/// </summary>
public sealed class PackageLayoutFixture : IAsyncLifetime
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("package-layout-");

    public string PackageDirectory => Path.Combine(_work.FullName, "package");
    public string ZipPath => Path.Combine(_work.FullName, "package.zip");
    internal PackageScriptRun Run { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var build = PackageScript.AppBuildDirectory;
        if (!File.Exists(Path.Combine(build, "ReferralBroker.dll")))
        {
            Run = new PackageScriptRun("--layout-only", -1, "", $"No build of the app at {build}: the test project's build should have made it.", TimeSpan.Zero);
            return;
        }

        // A copy of the app's build, with what must never ship planted in it and the handler's execute bit taken
        // away: the package the script lays out from it must have none of that.
        var app = Path.Combine(_work.FullName, "app");
        foreach (var file in Directory.EnumerateFiles(build, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(app, Path.GetRelativePath(build, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }

        foreach (var bait in new[] { "appsettings.Development.json", "local.settings.json", ".data/broker.db", "ReferralBroker.Tests.pdb", "wwwroot/.data/pepper" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(app, bait))!);
            await File.WriteAllTextAsync(Path.Combine(app, bait), "must not ship");
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(app, "ReferralBroker"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        }

        Run = await PackageScript.RunAsync(TimeSpan.FromMinutes(3), "--layout-only", PackageDirectory, "--from", app, "--zip", ZipPath);
    }

    public Task DisposeAsync()
    {
        _work.Delete(recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>
/// The full package (self-contained linux-x64 publish, about a minute on 2 cores), built by the real script on
/// first use into a temporary folder, only when <see cref="FullPackageFactAttribute.Variable"/> is 1.
/// </summary>
public sealed class FullPackageFixture : IDisposable
{
    private readonly Lazy<DirectoryInfo> _work = new(() => Directory.CreateTempSubdirectory("package-full-"));
    private readonly Lazy<Task<PackageScriptRun>> _run;

    public FullPackageFixture() => _run = new(() => PackageScript.RunAsync(TimeSpan.FromMinutes(10),
        "--output", PackageDirectory, "--zip", ZipPath));

    public string PackageDirectory => Path.Combine(_work.Value.FullName, "package");
    public string ZipPath => Path.Combine(_work.Value.FullName, "referral-broker.zip");
    internal Task<PackageScriptRun> RunAsync() => _run.Value;

    public void Dispose()
    {
        if (_work.IsValueCreated)
        {
            _work.Value.Delete(recursive: true);
        }
    }
}

/// <summary>A test of the full self-contained package: skipped unless REFERRALBROKER_FULL_PACKAGE=1.</summary>
public sealed class FullPackageFactAttribute : FactAttribute
{
    public const string Variable = "REFERRALBROKER_FULL_PACKAGE";

    public FullPackageFactAttribute()
    {
        if (Environment.GetEnvironmentVariable(Variable) != "1")
        {
            Skip = $"The full self-contained package takes about a minute; set {Variable}=1 to build and check it.";
        }
    }
}
