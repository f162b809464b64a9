namespace ReferralBroker.Azure.SendGrid;

/// <summary>SendGrid settings. A class, not a record, so that formatting the options never prints the API key.</summary>
public sealed class SendGridOptions
{
    /// <summary>EU regional subusers use <c>https://api.eu.sendgrid.com</c>; plain http only to a loopback address (test stubs).</summary>
    public Uri Endpoint { get; set; } = new("https://api.sendgrid.com");

    public string? ApiKey { get; set; }

    /// <summary>Must be a verified sender or on an authenticated domain, or SendGrid answers 403.</summary>
    public string FromEmail { get; set; } = string.Empty;

    public string FromName { get; set; } = "ReferralBroker";

    /// <summary>For smoke tests against the real API: SendGrid validates the mail (answering 200) and delivers nothing.</summary>
    public bool SandboxMode { get; set; }
}
