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

            if (!string.IsNullOrEmpty(org.WebhookUrl)
                && (!ClosedLoop.IsAcceptableWebhookUrl(org.ToNotifications().WebhookUrl, options.Notifications.AllowLoopbackHttpWebhooks)
                    || (org.WebhookSecret?.Length ?? 0) < 16))
            {
                failures.Add($"Broker:Organisations entry '{org.Id}' needs an https WebhookUrl and a WebhookSecret of at least 16 characters.");
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

    private static bool TryBase64(string text, out byte[] bytes)
    {
        bytes = new byte[text.Length];
        var ok = Convert.TryFromBase64String(text, bytes, out var written);
        bytes = bytes[..(ok ? written : 0)];
        return ok;
    }
}
