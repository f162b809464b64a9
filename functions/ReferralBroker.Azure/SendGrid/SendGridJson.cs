using System.Text.Json.Serialization;

namespace ReferralBroker.Azure.SendGrid;

/// <summary>The v3 mail/send body. Only what the partner email needs; nothing else is ever sent to SendGrid.</summary>
internal sealed record SendGridMailRequest(
    IReadOnlyList<SendGridPersonalization> Personalizations,
    SendGridAddress From,
    string Subject,
    IReadOnlyList<SendGridContent> Content,
    SendGridTrackingSettings TrackingSettings,
    SendGridMailSettings? MailSettings);

internal sealed record SendGridPersonalization(IReadOnlyList<SendGridAddress> To);

internal sealed record SendGridAddress(string Email, string? Name);

internal sealed record SendGridContent(string Type, string Value);

/// <summary>
/// Everything off. Click tracking would rewrite the link, fragment and all, through SendGrid's redirector and so
/// hand the link secret to a third party; open tracking adds a pixel that reports when a partner reads the mail;
/// Google Analytics tagging would alter the link; subscription tracking adds an unsubscribe footer to a service mail.
/// </summary>
internal sealed record SendGridTrackingSettings(
    SendGridClickTracking ClickTracking,
    SendGridSwitch OpenTracking,
    SendGridSwitch SubscriptionTracking,
    SendGridSwitch Ganalytics);

internal sealed record SendGridClickTracking(bool Enable, bool EnableText);

internal sealed record SendGridSwitch(bool Enable);

internal sealed record SendGridMailSettings(SendGridSwitch SandboxMode);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SendGridMailRequest))]
internal sealed partial class SendGridJson : JsonSerializerContext;
