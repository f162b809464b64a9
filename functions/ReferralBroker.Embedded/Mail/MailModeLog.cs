namespace ReferralBroker.Embedded.Mail;

/// <summary>Said once at start, so an operator sees where partner emails go (the SMTP sender says its own).</summary>
internal static partial class MailModeLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Partner emails are written to the outbox folder {OutboxPath}, not sent: set Broker__Mail__Smtp__Host to send them")]
    public static partial void Outbox(ILogger logger, string outboxPath);
}
