using System.Text.Json;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace ReferralBroker.Tests.Browser;

/// <summary>
/// axe-core over a page as it is now (inject <see cref="Pages.AxeScript"/> first): every violation is written to the
/// test's output, and a serious or critical one fails the test.
/// </summary>
internal static class Axe
{
    private const string Run = """
        async () => {
          const result = await axe.run(document, { resultTypes: ['violations'] });
          return {
            passes: result.passes.length,
            violations: result.violations.map((v) => ({
              id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.map((n) => n.target.join(' ') + ' (' + n.failureSummary + ')'),
            })),
          };
        }
        """;

    public static async Task AssertNoSeriousViolationsAsync(IPage page, string state, ITestOutputHelper output)
    {
        var result = await page.EvaluateAsync<JsonElement>(Run);
        Assert.True(result.GetProperty("passes").GetInt32() > 0, "axe-core checked nothing: did it run?");
        var violations = result.GetProperty("violations").EnumerateArray().ToList();
        foreach (var violation in violations)
        {
            output.WriteLine($"{state}: {Describe(violation)}");
        }

        var serious = violations.Where(v => v.GetProperty("impact").GetString() is "serious" or "critical").Select(Describe).ToList();
        Assert.True(serious.Count == 0, $"axe-core on the {state}:\n{string.Join('\n', serious)}");
    }

    private static string Describe(JsonElement violation) =>
        $"[{violation.GetProperty("impact").GetString()}] {violation.GetProperty("id").GetString()}: " +
        $"{violation.GetProperty("help").GetString()} at {string.Join("; ", violation.GetProperty("nodes").EnumerateArray().Select(n => n.GetString()))}";
}
