using Microsoft.Extensions.Options;
using ReferralBroker.Embedded.Mail;
using ReferralBroker.Hosting;
using ReferralBroker.Partners;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using ReferralBroker.Tokens;

namespace ReferralBroker.Embedded;

internal static class EmbeddedServices
{
    /// <summary>The embedded default's adapters (SQLite, in-process queue, SMTP or the outbox) and the pumps that drive them.</summary>
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
        services.AddSingleton(sp => new SqliteDatabase(sp.GetRequiredService<IOptions<BrokerOptions>>().Value.SqlitePath));
        services.AddSingleton<SqliteReferralStore>();
        services.AddSingleton<IReferralStore>(sp => sp.GetRequiredService<SqliteReferralStore>());
        services.AddSingleton<ReferralBroker.Reports.IReportSource, SqliteReportSource>();
        services.AddSingleton<IIdempotencyStore>(sp => sp.GetRequiredService<SqliteReferralStore>());
        services.AddSingleton<IDirectoryStore>(sp => new SealedSecretsDirectoryStore(
            new SqliteDirectoryStore(sp.GetRequiredService<SqliteDatabase>()), sp.GetRequiredService<Pepper>()));
        services.AddSingleton<SqliteReferralQueue>();
        services.AddSingleton<IReferralQueue>(sp => sp.GetRequiredService<SqliteReferralQueue>());
        services.AddSingleton<IReferralIntake>(sp => sp.GetRequiredService<SqliteReferralQueue>());
        services.AddSingleton<IMailSender>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BrokerOptions>>().Value;
            if (!string.IsNullOrWhiteSpace(options.Mail.Smtp.Host))
            {
                return new SmtpMailSender(options.Mail, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<SmtpMailSender>>());
            }

            MailModeLog.Outbox(sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OutboxMailSender).FullName!), options.OutboxPath);
            return new OutboxMailSender(options.OutboxPath, options.Mail.From, sp.GetRequiredService<TimeProvider>());
        });
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
