using ReferralBroker.Referrals;

namespace ReferralBroker.Hosting;

/// <summary>Everything under the "Broker" configuration section (environment: Broker__Xxx__Yyy).</summary>
public sealed class BrokerOptions
{
    public const string Section = "Broker";

    /// <summary>Base of the links in partners' emails; the link secret follows it after '#'.</summary>
    public string PublicBaseUrl { get; set; } = "http://localhost:7071";

    /// <summary>
    /// Where the client pages' quick-exit button goes: an ordinary site that says nothing about this service to
    /// someone looking over a shoulder.
    /// </summary>
    public string QuickExitUrl { get; set; } = "https://www.wikipedia.org/";

    /// <summary>Base64 server secret for keyed hashes. Embedded: generated into DataPath when absent.</summary>
    public string? Pepper { get; set; }

    /// <summary>Where the embedded default keeps its SQLite file, outbox and generated pepper.</summary>
    public string DataPath { get; set; } = ".data";

    public StorageOptions Storage { get; set; } = new();
    public MailOptions Mail { get; set; } = new();
    public QueueOptions Queue { get; set; } = new();
    /// <summary>Bound straight onto the domain's policy, so the deadlines have one definition.</summary>
    public RetentionPolicy Retention { get; set; } = new();
    /// <summary>Retries of the organisations' status notifications, bound straight onto the domain's policy.</summary>
    public NotificationPolicy Notifications { get; set; } = new();
    public DemoOptions Demo { get; set; } = new();
    public RateLimitOptions RateLimits { get; set; } = new();
    public ForwardedHeadersSettings ForwardedHeaders { get; set; } = new();
    public DirectoryOptions Directory { get; set; } = new();
    public AdminOptions Admin { get; set; } = new();
    /// <summary>Seed the directory at start (ids it does not hold yet); the admin API owns it afterwards.</summary>
    public List<OrganisationOptions> Organisations { get; set; } = [];
    public List<PartnerOptions> Partners { get; set; } = [];

    public string SqlitePath => Storage.SqlitePath ?? Path.Combine(DataPath, "broker.db");
    public string OutboxPath => Mail.OutboxPath ?? Path.Combine(DataPath, "mail");
}

public sealed class StorageOptions
{
    public string? SqlitePath { get; set; }
    /// <summary>
    /// How soon after a write the SQLite write-ahead log is checkpointed and truncated: the longest that old
    /// page images (a dispatched link secret, destroyed ciphertext) stay in the log file.
    /// </summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(1);
}

public sealed class MailOptions
{
    public string? OutboxPath { get; set; }
    /// <summary>The sender's address (one addr-spec, no display name): the envelope sender and the From header.</summary>
    public string From { get; set; } = "referrals@broker.example.org";
    /// <summary>Embedded: partner emails go to this relay when <see cref="SmtpOptions.Host"/> is set, else to the outbox.</summary>
    public SmtpOptions Smtp { get; set; } = new();
}

public enum SmtpSecurity
{
    /// <summary>Submission (587): a plain connection upgraded with STARTTLS, refused if the relay does not offer it.</summary>
    StartTls,
    /// <summary>Implicit TLS from the first byte (465).</summary>
    Tls,
    /// <summary>No encryption at all: the link secret in clear on the wire, so only to a relay on this machine.</summary>
    None,
}

public sealed class SmtpOptions
{
    public string? Host { get; set; }
    /// <summary>Defaults to the security's port: 587 (StartTls), 465 (Tls), 25 (None).</summary>
    public int? Port { get; set; }
    public SmtpSecurity Security { get; set; } = SmtpSecurity.StartTls;
    public string? UserName { get; set; }
    /// <summary>A secret: keep it in a secret store; it is never logged.</summary>
    public string? Password { get; set; }
    /// <summary>
    /// Hex SHA-256 of the relay's certificate, to trust one self-signed relay and nothing else; without it the
    /// certificate must validate as usual.
    /// </summary>
    public string? CertificateSha256 { get; set; }
    /// <summary>For the connection and for each command: a relay that hangs holds a dispatch slot this long.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(20);
    /// <summary>Connections open at once; the dispatcher sends many emails in parallel, relays limit connections per client.</summary>
    public int MaxConnections { get; set; } = 4;

    public int EffectivePort => Port ?? Security switch
    {
        SmtpSecurity.Tls => 465,
        SmtpSecurity.None => 25,
        _ => 587,
    };
}

public sealed class QueueOptions
{
    /// <summary>Tests switch the in-process dispatcher off to drive it by hand.</summary>
    public bool RunDispatcher { get; set; } = true;
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>How long a message taken by the dispatcher stays invisible before it is delivered again.</summary>
    public TimeSpan LockDuration { get; set; } = TimeSpan.FromSeconds(60);
    public int MaxDeliveryCount { get; set; } = 10;
    /// <summary>Short on purpose: a queued message carries the link secret until it is dispatched.</summary>
    public TimeSpan MessageTimeToLive { get; set; } = TimeSpan.FromDays(1);
    public bool RunSweep { get; set; } = true;
    /// <summary>Tests switch the in-process notification delivery off to drive it by hand.</summary>
    public bool RunNotifications { get; set; } = true;
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);
}

public sealed class DemoOptions
{
    /// <summary>
    /// Seeds the demo network (example.org partners, the demo organisation). Unset: only in the Development
    /// environment, which `dotnet run` uses (launchSettings.json); a published broker seeds nothing unless true.
    /// </summary>
    public bool? Enabled { get; set; }

    /// <summary>The demo organisation's API key at the start that seeds it; generated and printed when absent.</summary>
    public string? OrgApiKey { get; set; }
}

public sealed class RateLimitOptions
{
    /// <summary>Token lookups per client address per minute; tokens are unguessable, this stops noisy scanning.</summary>
    public int StatusPerMinute { get; set; } = 30;
    public int PartnerPerMinute { get; set; } = 120;
    /// <summary>
    /// Status lookups that miss (404), per minute, across all addresses, and as many partner lookups (a budget of
    /// their own); once spent, addresses that missed wait for the next minute while others still get through (see
    /// GuessingBudget).
    /// </summary>
    public int GlobalMissesPerMinute { get; set; } = 300;

    /// <summary>
    /// Referrals one organisation may submit per minute (a token bucket: this many at once, then one every
    /// minute / this). A busy drop-in centre sends a few an hour; a leaked key must not flood partners' inboxes.
    /// </summary>
    public int SubmissionsPerMinute { get; set; } = 60;

    /// <summary>Flags one organisation may raise per minute (token bucket, as submissions).</summary>
    public int FlagsPerMinute { get; set; } = 10;
}

/// <summary>
/// Which proxies may tell the broker the client's address and scheme (X-Forwarded-For, -Proto, -Host). Empty by
/// default: nobody is trusted, not even loopback, and the address the limits see is the socket's.
/// </summary>
public sealed class ForwardedHeadersSettings
{
    /// <summary>Addresses of the reverse proxies in front of the broker, e.g. 127.0.0.1 for Caddy on the same machine.</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Networks of them in CIDR notation, e.g. 10.0.0.0/24.</summary>
    public List<string> KnownNetworks { get; set; } = [];
}

public sealed class DirectoryOptions
{
    /// <summary>Flags from this many distinct organisations pause a partner until the coordinator resumes it.</summary>
    public int FlagsToPause { get; set; } = 2;

    /// <summary>How often an instance rereads the directory, to see other instances' admin writes (Azure).</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class AdminOptions
{
    /// <summary>Lower-case hex SHA-256 of the network coordinator's key; without it (or empty) the admin API answers 401.</summary>
    public string? CoordinatorKeySha256 { get; set; }
}

public sealed class OrganisationOptions
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    /// <summary>Lower-case hex SHA-256 of the API key: the key itself is never configured or stored.</summary>
    public string ApiKeySha256 { get; set; } = "";
    /// <summary>Where status changes of this organisation's referrals are emailed (optional).</summary>
    public string? NotificationEmail { get; set; }
    /// <summary>https URL that receives signed status events (optional; needs <see cref="WebhookSecret"/>).</summary>
    public string? WebhookUrl { get; set; }
    /// <summary>
    /// Signs webhook events (Standard Webhooks): whsec_ and the base64 of 24 to 64 random bytes. A secret: keep it in a
    /// secret store, it is never logged or returned.
    /// </summary>
    public string? WebhookSecret { get; set; }

    public OrganisationNotifications ToNotifications() => new(
        string.IsNullOrWhiteSpace(NotificationEmail) ? null : NotificationEmail,
        Uri.TryCreate(WebhookUrl, UriKind.Absolute, out var url) ? url : null,
        string.IsNullOrEmpty(WebhookSecret) ? null : WebhookSecret);
}

public sealed class PartnerOptions
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Email { get; set; } = "";
    public List<string> Categories { get; set; } = [];
    public List<string> Languages { get; set; } = [];
    /// <summary>Safety attributes (Referrals.SafetyAttributes), e.g. no-id-required.</summary>
    public List<string> Attributes { get; set; } = [];
}
