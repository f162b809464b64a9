using Xunit.Abstractions;

namespace ReferralBroker.Tests.Reliability;

/// <summary>
/// Where a reliability test states what it survived: its own output, and one line of the run's figures file.
/// dotnet test shows nothing a passing test writes, so .ci/run points REFERRALBROKER_FIGURES at a file and prints
/// it after the run.
/// </summary>
public static class Figures
{
    private static readonly Lock Gate = new();

    public static void Report(ITestOutputHelper output, string name, string line)
    {
        output.WriteLine(line);
        if (Environment.GetEnvironmentVariable("REFERRALBROKER_FIGURES") is { Length: > 0 } path)
        {
            lock (Gate)
            {
                File.AppendAllText(path, $"{name}: {line}{Environment.NewLine}");
            }
        }
    }
}
