using Microsoft.Extensions.Options;
using ReferralBroker.Embedded.Mail;
using ReferralBroker.Hosting;
using ReferralBroker.Partners;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using ReferralBroker.Tokens;

namespace ReferralBroker.Embedded;

internal static partial class EmbeddedServices
{
    /// <summary>The embedded default's adapters (SQLite, in-process queue, SMTP or the development mailbox) and the pumps that drive them.</summary>
    public static IServiceCollection AddEmbeddedAdapters(this IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BrokerOptions>>().Value;
            var logger = sp.GetRequiredService<ILogger<DemoOptions>>();
            var environment = sp.GetRequiredService<IHostEnvironment>();
            if (!(options.Demo.Enabled ?? environment.IsDevelopment()))
            {
                LogNoDemo(logger, environment.EnvironmentName, options.Demo.Enabled is null ? "unset" : "false");
                return NetworkSeed.From(options.Organisations, options.Partners, _ =>
                {
                    // A data folder from a start that seeded the demo keeps it: say so rather than change it unasked.
                    if (sp.GetRequiredService<StoredNetworkDirectory>().Organisations
                        .Any(o => o.Organisation.Id == DemoNetwork.OrganisationId && o.Active && o.ApiKeySha256 is not null))
                    {
                        LogDemoLeftOver(logger, DemoNetwork.OrganisationId);
                    }
                });
            }

            var (partners, organisation, generatedKey) = DemoNetwork.Create(options.Demo);
            return NetworkSeed.From([.. options.Organisations, organisation], [.. options.Partners, .. partners], added =>
            {
                // Printed to the console on purpose (not logged), and only when this start created the demo
                // organisation: otherwise the key in force is the one printed (or rotated) before.
                if (!added.Contains(DemoNetwork.OrganisationId))
                {
                    LogDemoKept(logger, DemoNetwork.OrganisationId);
                }
                else if (generatedKey is not null)
                {
                    Console.WriteLine($"Demo organisation '{DemoNetwork.OrganisationId}' API key: {generatedKey}");
                    Console.WriteLine("It stays in force across restarts (the data folder keeps it) until the coordinator rotates or revokes it.");
                }
            });
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
        // The one choice of mail mode: an SMTP relay when one is configured, else the development mailbox, announced
        // at start. The page at /dev/mailbox and the sweep's redaction ask MailMode, never construct a mailbox.
        // Resolved at start (the sweep service holds it), so the clean-up of earlier mail runs in both modes.
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BrokerOptions>>().Value;
            var logger = sp.GetRequiredService<ILogger<DevelopmentMailbox>>();
            // The page is for a developer's own browser: never in another environment, and never where a proxy is
            // trusted to rewrite the caller's address and host (its rewrite would make the world look local).
            var pageServed = sp.GetRequiredService<IHostEnvironment>().IsDevelopment()
                && ReferralBroker.Gate.TrustedProxies.For(options.ForwardedHeaders) is null;
            if (string.IsNullOrWhiteSpace(options.Mail.Smtp.Host))
            {
                return new MailMode(new DevelopmentMailbox(options.OutboxPath, options.Mail.From, sp.GetRequiredService<TimeProvider>(), logger, pageServed),
                    pageServed);
            }

            // A network moving to SMTP from the mailbox or the old outbox must not keep that mail (S in the clear in
            // an old .eml) beside broker.db. The default folder goes with it once empty, or is tightened as the data
            // folder is if something else stays in it; a configured one is the operator's.
            DevelopmentMailbox.DeleteEarlierMail(options.OutboxPath, logger);
            var defaultFolder = Path.Combine(options.DataPath, "mail");
            if (options.Mail.OutboxPath is null && Directory.Exists(defaultFolder))
            {
                if (Directory.EnumerateFileSystemEntries(defaultFolder).Any())
                {
                    PrivateFiles.Folder(defaultFolder);
                }
                else
                {
                    Directory.Delete(defaultFolder);
                }
            }

            return new MailMode(null);
        });
        services.AddSingleton<IMailSender>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BrokerOptions>>().Value;
            return sp.GetRequiredService<MailMode>().DevelopmentMailbox as IMailSender
                ?? new SmtpMailSender(options.Mail, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<SmtpMailSender>>());
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

    [LoggerMessage(Level = LogLevel.Information,
        Message = "No demo network: environment {Environment}, Broker:Demo:Enabled {Enabled} (it seeds in Development or when true)")]
    private static partial void LogNoDemo(ILogger logger, string environment, string enabled);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "The directory holds the demo organisation {OrganisationId} with a working key from an earlier start: deactivate it (POST /api/admin/organisations/{OrganisationId}/deactivate) unless you use it")]
    private static partial void LogDemoLeftOver(ILogger logger, string organisationId);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Demo organisation {OrganisationId} kept from an earlier start with the key it had (the coordinator can issue a new one)")]
    private static partial void LogDemoKept(ILogger logger, string organisationId);
}
