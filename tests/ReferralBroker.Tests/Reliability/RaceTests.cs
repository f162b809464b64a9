using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ReferralBroker.Tests.Integration;
using Xunit.Abstractions;

namespace ReferralBroker.Tests.Reliability;

/// <summary>
/// Many hands on one referral at once: partners accepting and declining, the client withdrawing and the sweep
/// expiring it, all released together from a gate, many times over. Exactly one decision wins, the losers get
/// 409, and the stored history is one lifecycle path that the winners explain.
/// </summary>
public sealed class RaceTests(ITestOutputHelper output)
{
    public const int Rounds = 40;

    [Fact]
    public async Task Concurrent_accept_decline_withdraw_and_expiry_have_exactly_one_winner()
    {
        using var app = new BrokerApp(settings: FaultHistoryTests.Unthrottled);
        var judge = new RaceJudge();
        for (var round = 0; round < Rounds; round++)
        {
            await RaceOnceAsync(app, judge, round);
        }

        Figures.Report(output, "decision race (SQLite)", judge.Summary(Contenders));
        judge.Problems.ForEach(output.WriteLine);
        Assert.Equal(Rounds, judge.Rounds);
        Assert.Empty(judge.Problems);
    }

    [Fact]
    public async Task The_same_Idempotency_Key_sent_in_parallel_creates_one_referral()
    {
        using var app = new BrokerApp(settings: FaultHistoryTests.Unthrottled);
        var organisation = app.Organisation();
        for (var round = 0; round < 10; round++)
        {
            var body = BrokerApp.Referral($"race{round}").GetRawText();
            var gate = new TaskCompletionSource();
            var senders = Enumerable.Range(0, 12).Select(_ => Task.Run(async () =>
            {
                await gate.Task;
                using var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                request.Headers.Add("Idempotency-Key", $"parallel-{round}");
                var response = await organisation.SendAsync(request);
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                return await response.Content.ReadFromJsonAsync<Submitted>();
            })).ToList();
            gate.SetResult();
            Assert.Single((await Task.WhenAll(senders)).Distinct());
        }

        await app.DispatchAsync();
        Assert.Equal(10, app.Outbox().Length);
    }

    public const int Contenders = 14;

    private static async Task RaceOnceAsync(BrokerApp app, RaceJudge judge, int round)
    {
        var expiresAt = (app.Time.GetUtcNow() + TimeSpan.FromHours(1)).ToString("O");
        var (submitted, link) = await app.SubmitAndDispatchAsync(BrokerApp.Referral(expiresAt: expiresAt));
        // Consent has run out, so the sweep races the others to expire it.
        app.Time.Advance(TimeSpan.FromHours(2));
        var url = $"/api/partner/referrals/{link.ReferralId}";
        var gate = new TaskCompletionSource();
        Task<(string Target, HttpStatusCode Status)> Contender(string target, Func<Task<HttpResponseMessage>> act) => Task.Run(async () =>
        {
            await gate.Task;
            return (target, (await act()).StatusCode);
        });

        var contenders = new List<Task<(string Target, HttpStatusCode Status)>>();
        for (var i = 0; i < 4; i++)
        {
            contenders.Add(Contender("accepted", () => app.Partner(link).PostAsync($"{url}/accept", null)));
            contenders.Add(Contender("declined", () => app.Partner(link).PostAsJsonAsync($"{url}/decline", new { reason = "no-capacity" })));
            contenders.Add(Contender("withdrawn", () => app.CreateClient().PostAsJsonAsync("/api/status/withdraw", new { token = submitted.StatusToken })));
        }

        // The sweep runs in process and would nearly always win; a varying head start for the others.
        var sweepDelay = TimeSpan.FromMilliseconds(round % 4 * 2);
        var sweeps = Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            await gate.Task;
            await Task.Delay(sweepDelay);
            return (await app.SweepAsync()).Expired;
        })).ToList();
        gate.SetResult();
        var answers = await Task.WhenAll(contenders);
        var expired = (await Task.WhenAll(sweeps)).Sum();

        var view = await app.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{submitted.ReferralId}");
        var history = view.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("status").GetString()!).ToArray();
        judge.Judge(answers, expired, history, (await app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
    }
}
