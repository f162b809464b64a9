using Microsoft.Extensions.Options;
using ReferralBroker.Lifecycle;
using ReferralBroker.Referrals;

namespace ReferralBroker.Hosting;

/// <summary>Refuses to start on settings that would make the broker misbehave later, at the worst moment.</summary>
internal sealed class BrokerOptionsValidator : IValidateOptions<BrokerOptions>
{
    public ValidateOptionsResult Validate(string? name, BrokerOptions options)
    {
        var failures = new List<string>();
        if (!Uri.TryCreate(options.PublicBaseUrl, UriKind.Absolute, out var baseUrl)
            || baseUrl.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(baseUrl.Fragment))
        {
            failures.Add("Broker:PublicBaseUrl must be an absolute http(s) URL without a fragment.");
        }

        // An absolute http(s) address only: anything else (javascript:, a relative path back into this site) would
        // not take the client away from here.
        if (!Uri.TryCreate(options.QuickExitUrl, UriKind.Absolute, out var exit) || exit.Scheme is not ("http" or "https")
            || !string.IsNullOrEmpty(exit.UserInfo))
        {
            failures.Add("Broker:QuickExitUrl must be an absolute http(s) URL without user information.");
        }

        if (options.Pepper is { } pepper && (!TryBase64(pepper, out var bytes) || bytes.Length < 32))
        {
            failures.Add("Broker:Pepper must be base64 of at least 32 random bytes.");
        }

        var retention = options.Retention;
        if (retention.DefaultConsent <= TimeSpan.Zero || retention.DefaultConsent > retention.MaxConsent)
        {
            failures.Add("Broker:Retention:DefaultConsent must be positive and at most MaxConsent.");
        }

        if (retention.SealedAfterAcceptance <= TimeSpan.Zero || retention.StatusAfterClose <= TimeSpan.Zero
            || retention.MaxRecordAge <= retention.MaxConsent || retention.IdempotencyWindow <= TimeSpan.Zero)
        {
            failures.Add("Broker:Retention periods must be positive, and MaxRecordAge longer than MaxConsent.");
        }

        if (options.Notifications.MaxAttempts < 1 || options.Notifications.FirstRetry <= TimeSpan.Zero
            || options.Notifications.MaxRetry < options.Notifications.FirstRetry)
        {
            failures.Add("Broker:Notifications:MaxAttempts must be at least 1, FirstRetry positive and MaxRetry at least FirstRetry.");
        }

        if (options.Notifications.WebhookSecretOverlap < TimeSpan.Zero || options.Notifications.WebhookSecretOverlap > TimeSpan.FromDays(30))
        {
            failures.Add("Broker:Notifications:WebhookSecretOverlap must be zero (switch at once) to 30 days, e.g. 1.00:00:00 for a day.");
        }

        if (options.Notifications is { MaxConcurrentDeliveries: < 1 or > 256 } || !IsBetween(options.Notifications.ConnectTimeout, TimeSpan.FromMinutes(1))
            || !IsBetween(options.Notifications.ResponseTimeout, TimeSpan.FromMinutes(10)) || !IsBetween(options.Notifications.PassBudget, TimeSpan.FromMinutes(10)))
        {
            failures.Add("Broker:Notifications:MaxConcurrentDeliveries must be 1 to 256, ConnectTimeout positive and at most a minute, " +
                "ResponseTimeout and PassBudget positive and at most 10 minutes.");
        }

        if (options.Queue.MaxDeliveryCount < 1 || options.Queue.MessageTimeToLive <= TimeSpan.Zero)
        {
            failures.Add("Broker:Queue:MaxDeliveryCount must be at least 1 and MessageTimeToLive positive.");
        }

        if (options.Directory.FlagsToPause < 1 || options.Directory.RefreshInterval <= TimeSpan.Zero)
        {
            failures.Add("Broker:Directory:FlagsToPause must be at least 1 and RefreshInterval positive.");
        }

        if (options.Admin.CoordinatorKeySha256 is { Length: > 0 } coordinator && !ApiKeys.IsHash(coordinator))
        {
            failures.Add("Broker:Admin:CoordinatorKeySha256 must be the lower-case hex SHA-256 of the coordinator's key.");
        }

        if (options.Storage.CheckpointInterval <= TimeSpan.Zero || options.Storage.CheckpointInterval > TimeSpan.FromMinutes(1))
        {
            failures.Add("Broker:Storage:CheckpointInterval must be positive and at most a minute: destroyed data waits that long in the write-ahead log.");
        }

        if (options.RateLimits is { StatusPerMinute: < 1 } or { PartnerPerMinute: < 1 } or { GlobalMissesPerMinute: < 1 })
        {
            failures.Add("Broker:RateLimits:StatusPerMinute, PartnerPerMinute and GlobalMissesPerMinute must be at least 1.");
        }

        if (options.RateLimits is { SubmissionsPerMinute: < 1 } or { FlagsPerMinute: < 1 })
        {
            failures.Add("Broker:RateLimits:SubmissionsPerMinute and FlagsPerMinute must be at least 1.");
        }

        foreach (var proxy in options.ForwardedHeaders.KnownProxies.Where(p => !Gate.TrustedProxies.IsAddress(p)))
        {
            failures.Add($"Broker:ForwardedHeaders:KnownProxies entry '{proxy}' is not an IP address.");
        }

        foreach (var network in options.ForwardedHeaders.KnownNetworks.Where(n => !Gate.TrustedProxies.IsNetwork(n)))
        {
            failures.Add($"Broker:ForwardedHeaders:KnownNetworks entry '{network}' is not a network in CIDR notation (10.0.0.0/24).");
        }

        failures.AddRange(MailFailures(options.Mail));

        foreach (var (org, i) in options.Organisations.Select((o, i) => (o, i)))
        {
            if (string.IsNullOrWhiteSpace(org.Id) || !ApiKeys.IsHash(org.ApiKeySha256))
            {
                failures.Add($"Broker:Organisations entry '{org.Id}' needs an Id and a lower-case hex ApiKeySha256.");
            }

            if (org.NotificationEmail is { Length: > 0 } email && !EmailAddresses.IsAddrSpec(email))
            {
                failures.Add($"Broker:Organisations:{i}:NotificationEmail (entry '{org.Id}') is not one address. {EmailAddresses.Rule}");
            }

            if (WebhookProblem(org, options.Notifications.AllowLoopbackHttpWebhooks) is { } webhook)
            {
                failures.Add($"Broker:Organisations entry '{org.Id}' {webhook}");
            }
        }

        foreach (var (partner, i) in options.Partners.Select((p, i) => (p, i)))
        {
            if (!EmailAddresses.IsAddrSpec(partner.Email))
            {
                failures.Add($"Broker:Partners:{i}:Email (entry '{partner.Id}') is not one address. {EmailAddresses.Rule}");
            }

            if (string.IsNullOrWhiteSpace(partner.Id)
                || partner.Categories.Count == 0 || !partner.Categories.All(c => WireNames.TryParse(c, out ServiceCategory _))
                || !partner.Attributes.All(SafetyAttributes.All.Contains))
            {
                failures.Add($"Broker:Partners entry '{partner.Id}' needs an Id, categories (lower-case words such as health, legal, " +
                    $"employment) and only attributes from {string.Join(", ", SafetyAttributes.All)}.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static IEnumerable<string> MailFailures(MailOptions mail)
    {
        if (!EmailAddresses.IsAddrSpec(mail.From))
        {
            yield return "Broker:Mail:From must be one email address (local@domain), without a display name.";
        }

        var smtp = mail.Smtp;
        if (string.IsNullOrWhiteSpace(smtp.Host))
        {
            yield break;
        }

        if (Uri.CheckHostName(smtp.Host) == UriHostNameType.Unknown)
        {
            yield return "Broker:Mail:Smtp:Host must be a host name or an IP address.";
        }

        if (smtp.Port is < 1 or > 65535)
        {
            yield return "Broker:Mail:Smtp:Port must be between 1 and 65535.";
        }

        // Without TLS every partner email, link secret and all, crosses the network in clear.
        if (smtp.Security == SmtpSecurity.None && !IsLoopback(smtp.Host))
        {
            yield return "Broker:Mail:Smtp:Security None is allowed only to a relay on this machine (localhost or a loopback address); use StartTls or Tls.";
        }

        if (string.IsNullOrEmpty(smtp.UserName) != string.IsNullOrEmpty(smtp.Password))
        {
            yield return "Broker:Mail:Smtp:UserName and Broker:Mail:Smtp:Password go together: set both or neither.";
        }

        if (smtp.CertificateSha256 is { Length: > 0 } pin && NormalisedPin(pin) is not { Length: 64 })
        {
            yield return "Broker:Mail:Smtp:CertificateSha256 must be the hex SHA-256 of the relay's certificate (64 hex digits, colons allowed).";
        }

        if (smtp.Timeout <= TimeSpan.Zero || smtp.Timeout > TimeSpan.FromMinutes(2))
        {
            yield return "Broker:Mail:Smtp:Timeout must be positive and at most two minutes.";
        }

        if (smtp.MaxConnections is < 1 or > 100)
        {
            yield return "Broker:Mail:Smtp:MaxConnections must be between 1 and 100.";
        }
    }

    /// <summary>Lower-case hex without separators, or null when it is not hex.</summary>
    internal static string? NormalisedPin(string pin)
    {
        var hex = pin.Replace(":", "", StringComparison.Ordinal).Trim().ToLowerInvariant();
        return hex.All(Uri.IsHexDigit) ? hex : null;
    }

    private static bool IsLoopback(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (System.Net.IPAddress.TryParse(host.Trim('[', ']'), out var address) && System.Net.IPAddress.IsLoopback(address));

    /// <summary>What is wrong with an organisation's configured webhook (WebhookUrl, WebhookSecret), or null; the URL is never quoted.</summary>
    internal static string? WebhookProblem(OrganisationOptions org, bool allowLoopback)
    {
        // Never the secret itself, nor what is wrong with it beyond the rule: the message goes to a start-up log.
        if (!string.IsNullOrEmpty(org.WebhookSecret) && !WebhookSecrets.IsValid(org.WebhookSecret))
        {
            return $"has a WebhookSecret that is not in the form: {WebhookSecrets.Rule}";
        }

        if (string.IsNullOrEmpty(org.WebhookUrl))
        {
            return null;
        }

        if (ClosedLoop.WebhookUrlProblem(org.ToNotifications().WebhookUrl, allowLoopback) is { } url)
        {
            return $"has a WebhookUrl that is refused (it needs an https WebhookUrl to a public host): {url}";
        }

        return string.IsNullOrEmpty(org.WebhookSecret) ? $"needs a WebhookSecret for its WebhookUrl: {WebhookSecrets.Rule}" : null;
    }

    private static bool IsBetween(TimeSpan value, TimeSpan max) => value > TimeSpan.Zero && value <= max;

    private static bool TryBase64(string text, out byte[] bytes)
    {
        bytes = new byte[text.Length];
        var ok = Convert.TryFromBase64String(text, bytes, out var written);
        bytes = bytes[..(ok ? written : 0)];
        return ok;
    }
}
