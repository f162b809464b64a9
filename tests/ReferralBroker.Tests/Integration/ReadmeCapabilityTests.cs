using System.Diagnostics;
using System.Net;

namespace ReferralBroker.Tests.Integration;

/// <summary>
/// The README's one-liners that make a partner's capability from the emailed link, run as a partner would paste
/// them (bash, node; python3 where the machine has it) against a real referral: they must open it.
/// </summary>
public sealed class ReadmeCapabilityTests : IDisposable
{
    private readonly BrokerApp _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Each_capability_one_liner_in_the_readme_makes_the_capability_that_opens_the_referral()
    {
        var (referral, link) = await _app.SubmitAndDispatchAsync();
        var url = $"http://localhost:7071/partner/{link.ReferralId}#{link.Secret}";
        var lines = File.ReadAllLines(Path.Combine(Browser.Pages.RepositoryRoot, "README.md"))
            .Where(l => l.StartsWith("CAP=$(", StringComparison.Ordinal))
            .Select(l => l["CAP=$(".Length..l.LastIndexOf(')')])
            .ToList();
        Assert.Equal(2, lines.Count);
        Assert.Contains(lines, l => l.StartsWith("node ", StringComparison.Ordinal));

        foreach (var line in lines.Where(l => l.StartsWith("node ", StringComparison.Ordinal) || HasPython()))
        {
            var capability = await RunAsync(line, url);
            Assert.True(capability == link.Capability, $"{line.Split(' ')[0]} made '{capability}', not the link's capability.");
        }

        var partner = _app.CreateClient();
        partner.DefaultRequestHeaders.Add("X-Referral-Capability", await RunAsync(lines[0], url));
        Assert.Equal(HttpStatusCode.OK, (await partner.GetAsync($"/api/partner/referrals/{referral.ReferralId}")).StatusCode);
    }

    private static bool HasPython() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "python3")));

    private static async Task<string> RunAsync(string command, string link)
    {
        var start = new ProcessStartInfo("bash", ["-c", command])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["LINK"] = link },
        };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{command}: {error}");
        return output.Trim();
    }
}
