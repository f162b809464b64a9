using System.Net;

namespace ReferralBroker.Tests.Reliability;

/// <summary>
/// Judges rounds of the decision race, on any hosting: partners accepting and declining, the client
/// withdrawing and the sweep expiring one referral at once. Exactly one decision wins (the client may still
/// withdraw after an acceptance, the one two-step path), losers get 409, and the history is what the winners did.
/// </summary>
public sealed class RaceJudge
{
    public Dictionary<string, int> Wins { get; } = new() { ["accepted"] = 0, ["declined"] = 0, ["withdrawn"] = 0, ["expired"] = 0 };
    public int Rounds { get; private set; }
    public int Conflicts { get; private set; }
    public List<string> Problems { get; } = [];

    public void Judge(IReadOnlyList<(string Target, HttpStatusCode Status)> answers, int expired, string[] history, string? tokenStatus)
    {
        Rounds++;
        var decisions = history.SkipWhile(s => s is "submitted" or "delivered").ToArray();
        var won = answers.Where(a => a.Status == HttpStatusCode.OK).Select(a => a.Target).Distinct().ToList();
        if (expired > 0)
        {
            won.Add("expired");
        }

        foreach (var target in won)
        {
            Wins[target]++;
        }

        Conflicts += answers.Count(a => a.Status == HttpStatusCode.Conflict);
        var problem =
            answers.Any(a => a.Status is not (HttpStatusCode.OK or HttpStatusCode.Conflict)) ? "an answer other than 200 or 409"
            // Withdrawing twice is the same wish said twice, answered alike; any other second 200 is a double win.
            : answers.Count(a => a.Status == HttpStatusCode.OK && a.Target != "withdrawn") > 1 ? "two partner decisions answered 200"
            : expired > 1 ? "expired twice"
            : won.Count(w => w != "withdrawn") > 1 ? $"several decisions won: {string.Join(",", won)}"
            : !decisions.Order().SequenceEqual(won.Order()) ? $"winners {string.Join(",", won)} but history {string.Join(">", history)}"
            : decisions is not ([_] or ["accepted", "withdrawn"]) ? $"history {string.Join(">", history)}"
            : tokenStatus != history[^1] ? $"the token says {tokenStatus}, the history ends {history[^1]}"
            : null;
        if (problem is not null)
        {
            Problems.Add($"round {Rounds}: {problem}");
        }
    }

    public string Summary(int contenders) =>
        $"races={Rounds} contenders={contenders} wins={string.Join(",", Wins.Select(w => $"{w.Key}:{w.Value}"))} " +
        $"conflicts409={Conflicts} inconsistent={Problems.Count}";
}
