using Microsoft.Extensions.Options;
using ReferralBroker.Hosting;
using ReferralBroker.Partners;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using ReferralBroker.Tokens;

namespace ReferralBroker.Embedded;

internal static class EmbeddedServices
{
    /// <summary>The embedded default's adapters (SQLite, in-process queue, the development mailbox) and the pumps that drive them.</summary>
    public static IServiceCollection AddEmbeddedAdapters(this IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BrokerOptions>>().Value;
            var (partners, organisation, generatedKey) = DemoNetwork.Create(options.Demo);
            if (generatedKey is not null)
            {
                // Printed to the console on purpose (not logged): it is how a newcomer gets the demo key.
                Console.WriteLine($"Demo organisation '{DemoNetwork.OrganisationId}' API key: {generatedKey}");
                Console.WriteLine("Set Broker__Demo__OrgApiKey to keep a key across restarts.");
            }

            return new DemoKeyPrinted(generatedKey is not null, partners, organisation);
        });
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BrokerOptions>>().Value;
            var demo = sp.GetRequiredService<DemoKeyPrinted>();
            return NetworkSeed.From([.. options.Organisations, demo.Organisation], [.. options.Partners, .. demo.Partners],
                new HashSet<string> { DemoNetwork.OrganisationId });
        });
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BrokerOptions>>().Value;
            return new Pepper(options.Pepper is { } configured ? Convert.FromBase64String(configured) : PepperFile.LoadOrCreate(options.DataPath));
        });
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BrokerOptions>>().Value;
            // Before anything is written into it: an existing folder with looser modes is tightened here.
            PrivateFiles.Folder(options.DataPath);
            return new SqliteDatabase(options.SqlitePath);
        });
        services.AddSingleton<SqliteReferralStore>();
        services.AddSingleton<IReferralStore>(sp => sp.GetRequiredService<SqliteReferralStore>());
        services.AddSingleton<ReferralBroker.Reports.IReportSource, SqliteReportSource>();
        services.AddSingleton<IIdempotencyStore>(sp => sp.GetRequiredService<SqliteReferralStore>());
        services.AddSingleton<IDirectoryStore>(sp => new SealedSecretsDirectoryStore(
            new SqliteDirectoryStore(sp.GetRequiredService<SqliteDatabase>()), sp.GetRequiredService<Pepper>()));
        services.AddSingleton<SqliteReferralQueue>();
        services.AddSingleton<IReferralQueue>(sp => sp.GetRequiredService<SqliteReferralQueue>());
        services.AddSingleton<IReferralIntake>(sp => sp.GetRequiredService<SqliteReferralQueue>());
        // The one choice of mail mode. With no SMTP server configured it is the development mailbox, announced at
        // start; the page at /dev/mailbox and the sweep's redaction ask MailMode, never construct a mailbox.
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BrokerOptions>>().Value;
            return new DevelopmentMailbox(options.OutboxPath, options.Mail.FromEmail, sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<DevelopmentMailbox>>());
        });
        services.AddSingleton(sp => new MailMode(sp.GetRequiredService<DevelopmentMailbox>()));
        services.AddSingleton<IMailSender>(sp => sp.GetRequiredService<MailMode>().DevelopmentMailbox!);
        services.AddSingleton<EmbeddedDispatchPump>();
        services.AddHostedService(sp => sp.GetRequiredService<EmbeddedDispatchPump>());
        services.AddHostedService(sp => new SqliteCheckpointService(
            sp.GetRequiredService<SqliteDatabase>(),
            sp.GetRequiredService<IOptions<BrokerOptions>>().Value.Storage.CheckpointInterval,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SqliteCheckpointService>>()));
        services.AddSingleton<EmbeddedSweepService>();
        services.AddHostedService(sp => sp.GetRequiredService<EmbeddedSweepService>());
        services.AddSingleton<EmbeddedNotificationPump>();
        services.AddHostedService(sp => sp.GetRequiredService<EmbeddedNotificationPump>());
        return services;
    }

    /// <summary>Resolved at start so the demo key is printed before the first request, not at it.</summary>
    internal sealed record DemoKeyPrinted(bool Generated, IReadOnlyList<PartnerOptions> Partners, OrganisationOptions Organisation);
}
