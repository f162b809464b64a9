using System.Diagnostics;
using System.Runtime.Versioning;

namespace ReferralBroker.Tests.Deployment;

/// <summary>How the infra tests find a runnable Bicep CLI in the restored NuGet package (Linux x64 only).</summary>
[UnsupportedOSPlatform("windows")]
public sealed class BicepCliTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("referralbroker-bicepcli-");

    private string Package => Path.Combine(_work.FullName, "package");

    private string Copies => Directory.CreateDirectory(Path.Combine(_work.FullName, "copies")).FullName;

    [Fact]
    public void A_CLI_that_lost_its_execute_bit_runs_from_a_private_executable_copy()
    {
        var restored = StandIn(UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var executable = BicepCli.ExecutableIn(Package, Copies);

        Assert.NotEqual(restored, executable);
        Assert.StartsWith(Copies, executable, StringComparison.Ordinal);
        Assert.True(File.GetUnixFileMode(executable).HasFlag(UnixFileMode.UserExecute));
        Assert.Equal("stand-in bicep --version", Run(executable, "--version"));
        Assert.Equal(executable, BicepCli.ExecutableIn(Package, Copies));
        Assert.Single(Directory.GetFiles(Copies, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void An_executable_CLI_runs_where_it_was_restored()
    {
        var restored = StandIn(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        Assert.Equal(restored, BicepCli.ExecutableIn(Package, Copies));
        Assert.Empty(Directory.GetFiles(Copies, "*", SearchOption.AllDirectories));
    }

    public void Dispose() => _work.Delete(recursive: true);

    /// <summary>A package laid out like Azure.Bicep.CommandLine.linux-x64, with a shell script as its tools/bicep.</summary>
    private string StandIn(UnixFileMode mode)
    {
        var bicep = Path.Combine(Directory.CreateDirectory(Path.Combine(Package, "tools")).FullName, "bicep");
        File.WriteAllText(bicep, "#!/bin/sh\necho \"stand-in bicep $1\"\n");
        File.SetUnixFileMode(bicep, mode);
        return bicep;
    }

    private static string Run(string executable, string argument)
    {
        using var process = Process.Start(new ProcessStartInfo(executable, argument) { RedirectStandardOutput = true })!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output.Trim();
    }
}
