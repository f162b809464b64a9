using Microsoft.Extensions.Options;
using ReferralBroker.Lifecycle;

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

        if (options.Queue.MaxDeliveryCount < 1 || options.Queue.MessageTimeToLive <= TimeSpan.Zero)
        {
            failures.Add("Broker:Queue:MaxDeliveryCount must be at least 1 and MessageTimeToLive positive.");
        }

        if (options.RateLimits is { StatusPerMinute: < 1 } or { PartnerPerMinute: < 1 } or { GlobalMissesPerMinute: < 1 })
        {
            failures.Add("Broker:RateLimits:StatusPerMinute, PartnerPerMinute and GlobalMissesPerMinute must be at least 1.");
        }

        foreach (var org in options.Organisations)
        {
            if (string.IsNullOrWhiteSpace(org.Id) || org.ApiKeySha256.Length != 64 || !org.ApiKeySha256.All(char.IsAsciiHexDigitLower))
            {
                failures.Add($"Broker:Organisations entry '{org.Id}' needs an Id and a lower-case hex ApiKeySha256.");
            }
        }

        foreach (var partner in options.Partners)
        {
            if (string.IsNullOrWhiteSpace(partner.Id) || !partner.Email.Contains('@', StringComparison.Ordinal)
                || partner.Categories.Count == 0 || !partner.Categories.All(c => WireNames.TryParse(c, out ServiceCategory _)))
            {
                failures.Add($"Broker:Partners entry '{partner.Id}' needs an Id, an Email and categories from health, legal, employment.");
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
