using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using ReferralBroker.Embedded;
using ReferralBroker.Tests.Integration;
using ReferralBroker.Tests.Reliability;
using Xunit.Abstractions;

namespace ReferralBroker.Tests.Mail;

/// <summary>
/// With SMTP configured the partner's email leaves the machine: a seized data folder, every file of it with no
/// exemption for mail, holds no link secret, derived key, capability, status token or anything a client said,
/// while referrals are still open and after they ended.
/// </summary>
public sealed class SmtpSeizureTests(ITestOutputHelper output)
{
    [Fact]
    public async Task In_SMTP_mode_no_file_of_the_data_folder_holds_anything_that_opens_a_referral_and_no_mail_is_written()
    {
        using var server = await SmtpTestServer.StartAsync(SmtpTestMode.StartTls);
        using var app = new BrokerApp(settings: server.Settings());
        var markers = new List<string>();
        var tokens = new List<string>();
        var ids = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            var marker = $"SMTPSEIZE{i}MARK{Guid.NewGuid():N}";
            markers.Add(marker);
            var submitted = await app.SubmitAsync(BrokerApp.Referral(marker));
            tokens.Add(submitted.StatusToken);
            ids.Add(submitted.ReferralId);
        }

        Assert.Equal(12, await app.DispatchAsync());
        var received = (await server.RecordAsync()).Received.Select(m => BrokerApp.LinkIn(m.Text)).ToDictionary(l => l.ReferralId);
        var links = ids.Select(id => received[id]).ToList();

        // Accepted and worked on, declined, withdrawn, status checked; the rest stay open with their sealed details.
        string Url(int i, string action) => $"/api/partner/referrals/{links[i].ReferralId}{action}";
        await app.Partner(links[0]).PostAsync(Url(0, "/accept"), null);
        await app.Partner(links[0]).PostAsJsonAsync(Url(0, "/progress"), new { status = "in-progress" });
        await app.Partner(links[1]).PostAsJsonAsync(Url(1, "/decline"), new { reason = "other" });
        await app.StatusAsync(tokens[2], "/api/status/withdraw");
        await app.Partner(links[3]).PostAsync(Url(3, "/accept"), null);
        await app.Partner(links[4]).GetAsync(Url(4, ""));
        foreach (var token in tokens)
        {
            await app.CreateClient().PostAsJsonAsync("/api/status", new { token = token.ToLowerInvariant() });
        }

        // What the running broker's checkpoint does within Broker:Storage:CheckpointInterval: dispatched queue rows
        // leave the write-ahead log. Seized now, eight referrals are still open.
        await CheckpointAsync(app);
        var open = Seizure.Search(app.Logs, markers, tokens, links, app.DataPath);

        app.Time.Advance(TimeSpan.FromDays(31));
        await app.SweepAsync();
        var ended = Seizure.Search(app.Logs, markers, tokens, links, app.DataPath);

        Figures.Report(output, "seizure (SMTP mode, whole data folder)", $"open: {open}; after expiry: {ended}");
        Assert.Equal(12, open.Secrets);
        Assert.True(open.Places >= 4, "The search saw too little of the data folder to mean anything."); // logs, broker.db, -wal, -shm
        Assert.Equal((0, 0), (open.Hits, ended.Hits));
        Assert.False(Directory.Exists(app.OutboxPath), "SMTP mode wrote an outbox.");
        Assert.Empty(Directory.GetFiles(app.DataPath, "*.eml", SearchOption.AllDirectories));
    }

    [Fact]
    public void The_seizure_search_finds_a_link_secret_in_a_mail_file()
    {
        var dataPath = Directory.CreateTempSubdirectory("broker-seizure-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dataPath, "pepper.key"), "pepper-for-this-test");
            var link = new PartnerLink("ref_0123456789abcdef", Tokens.Base64Url.Encode(new byte[32]));
            Directory.CreateDirectory(Path.Combine(dataPath, "mail"));
            File.WriteAllText(Path.Combine(dataPath, "mail", "a.eml"), $"https://broker.test/partner/{link.ReferralId}#{link.Secret}");

            Assert.Equal(1, Seizure.Search([], [], [], [link], dataPath).Hits);
        }
        finally
        {
            Directory.Delete(dataPath, recursive: true);
        }
    }

    private static async Task CheckpointAsync(BrokerApp app)
    {
        var database = app.Services.GetRequiredService<SqliteDatabase>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await database.CheckpointAsync(CancellationToken.None))
        {
            Assert.True(DateTime.UtcNow < deadline, "The write-ahead log could not be checkpointed.");
            await Task.Delay(50);
        }
    }
}
