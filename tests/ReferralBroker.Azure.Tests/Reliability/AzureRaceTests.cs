using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using ReferralBroker.Azure.Tests.Hosting;
using ReferralBroker.Azure.Tests.TableStorage;
using ReferralBroker.Tests.Integration;
using ReferralBroker.Tests.Reliability;
using Xunit.Abstractions;

namespace ReferralBroker.Azure.Tests.Reliability;

/// <summary>
/// The decision race on the Azure adapters: Table Storage's ETag concurrency on the real Azurite, the sweep as
/// the timer function, judged by the same <see cref="RaceJudge"/> as the embedded race.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed partial class AzureRaceTests(AzuriteFixture azurite, ITestOutputHelper output) : IDisposable
{
    private const int Rounds = 15;
    private readonly AzureBroker _broker = new(azurite, settings: new Dictionary<string, string?>
    {
        ["Broker:RateLimits:StatusPerMinute"] = "100000",
        ["Broker:RateLimits:PartnerPerMinute"] = "100000",
    });

    public void Dispose() => _broker.Dispose();

    [Fact]
    public async Task Concurrent_accept_decline_withdraw_and_expiry_have_exactly_one_winner_on_Table_Storage()
    {
        var judge = new RaceJudge();
        for (var round = 0; round < Rounds; round++)
        {
            var expiresAt = (_broker.Time.GetUtcNow() + TimeSpan.FromHours(1)).ToString("O");
            var submitted = await _broker.App.SubmitAsync(BrokerApp.Referral(expiresAt: expiresAt));
            Assert.Equal(1, (await _broker.DrainAllAsync()).Completed);
            var link = AzureBroker.LinkInMail(_broker.Mails[^1]);
            Assert.Equal(submitted.ReferralId, link.ReferralId);
            _broker.Time.Advance(TimeSpan.FromHours(2));

            var url = $"/api/partner/referrals/{link.ReferralId}";
            var gate = new TaskCompletionSource();
            // The sweep is slower here (a table query first): every third round it gets a head start instead.
            var headStart = TimeSpan.FromMilliseconds(round % 3 == 0 ? 40 : 0);
            Task<(string Target, HttpStatusCode Status)> Contender(string target, Func<Task<HttpResponseMessage>> act) => Task.Run(async () =>
            {
                await gate.Task;
                await Task.Delay(headStart);
                return (target, (await act()).StatusCode);
            });

            var contenders = new List<Task<(string Target, HttpStatusCode Status)>>();
            for (var i = 0; i < 3; i++)
            {
                contenders.Add(Contender("accepted", () => _broker.App.Partner(link).PostAsync($"{url}/accept", null)));
                contenders.Add(Contender("declined", () => _broker.App.Partner(link).PostAsJsonAsync($"{url}/decline", new { reason = "no-capacity" })));
                contenders.Add(Contender("withdrawn", () => _broker.App.CreateClient().PostAsJsonAsync("/api/status/withdraw", new { token = submitted.StatusToken })));
            }

            var sweep = Task.Run(async () =>
            {
                await gate.Task;
                var reply = await _broker.SweepAsync();
                return int.Parse(ExpiredCount().Match(reply).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            });
            gate.SetResult();
            var answers = await Task.WhenAll(contenders);
            var expired = await sweep;

            var view = await _broker.App.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{submitted.ReferralId}");
            var history = view.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("status").GetString()!).ToArray();
            judge.Judge(answers, expired, history, (await _broker.App.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
        }

        Figures.Report(output, "decision race (Table Storage)", judge.Summary(10));
        judge.Problems.ForEach(output.WriteLine);
        Assert.Equal(Rounds, judge.Rounds);
        Assert.Empty(judge.Problems);
    }

    [GeneratedRegex(@"Sweep: (\d+) expired")]
    private static partial Regex ExpiredCount();
}
