using System.Text;
using ReferralBroker.Ports;

namespace ReferralBroker.Embedded;

/// <summary>
/// The embedded default's "email": one .eml file per message in the outbox folder, which any mail program can
/// open, so a newcomer can follow the partner's link without a mail server.
/// </summary>
internal sealed class OutboxMailSender(string outboxPath, string fromEmail, TimeProvider time) : IMailSender
{
    public async Task SendAsync(OutgoingMail mail, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(outboxPath);
        // Dispatch is at least once: a crash after the email but before "delivered" is recorded redelivers the
        // message. One email per key is the outbox's idempotency, as a provider's would be.
        if (Directory.EnumerateFiles(outboxPath, $"*-{mail.DeduplicationKey}-*.eml").Any())
        {
            return;
        }

        var now = time.GetUtcNow();
        var boundary = "=_" + Guid.NewGuid().ToString("N");
        var message = new StringBuilder()
            .Append($"From: ReferralBroker <{fromEmail}>\r\n")
            .Append($"To: <{mail.To}>\r\n")
            .Append($"Subject: {mail.Subject}\r\n")
            .Append($"Date: {now:ddd, dd MMM yyyy HH:mm:ss} +0000\r\n")
            .Append($"Message-ID: <{Guid.NewGuid():N}@referral-broker>\r\n")
            .Append("MIME-Version: 1.0\r\n")
            .Append($"Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n")
            .Append(Part(boundary, "text/plain", mail.TextBody))
            .Append(Part(boundary, "text/html", mail.HtmlBody))
            .Append($"--{boundary}--\r\n")
            .ToString();

        var name = $"{now:yyyyMMdd'T'HHmmssfff}-{mail.DeduplicationKey}-{Guid.NewGuid().ToString("N")[..8]}.eml";
        var temporary = Path.Combine(outboxPath, name + ".tmp");
        await File.WriteAllTextAsync(temporary, message, new UTF8Encoding(false), cancellationToken);
        // A reader of the folder never sees half a message.
        File.Move(temporary, Path.Combine(outboxPath, name));
    }

    private static string Part(string boundary, string contentType, string body) =>
        $"--{boundary}\r\nContent-Type: {contentType}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body.ReplaceLineEndings("\r\n")}\r\n";
}
