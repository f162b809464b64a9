using System.Collections.Concurrent;
using System.Text;
using ReferralBroker.Ports;

namespace ReferralBroker.Embedded;

/// <summary>
/// The embedded default's "email": one .eml file per message in the outbox folder, which any mail program can
/// open, so a newcomer can follow the partner's link without a mail server.
/// </summary>
internal sealed class OutboxMailSender(string outboxPath, string fromEmail, TimeProvider time) : IMailSender
{
    // Not caching a failure: an outbox that cannot be read now (a file where the folder should be) may be later.
    private readonly Lazy<ConcurrentDictionary<string, bool>> _sent = new(() => SentKeys(outboxPath), LazyThreadSafetyMode.PublicationOnly);

    public async Task SendAsync(OutgoingMail mail, CancellationToken cancellationToken)
    {
        // Dispatch is at least once: a crash after the email but before "delivered" is recorded redelivers the
        // message. One email per key is the outbox's idempotency, as a provider's would be. The keys are read from
        // the folder once (what an earlier process sent) and kept in memory: a search of the folder per email
        // made each send as slow as the outbox is long.
        if (!_sent.Value.TryAdd(mail.DeduplicationKey, true))
        {
            return;
        }

        try
        {
            await WriteAsync(mail, cancellationToken);
        }
        catch
        {
            _sent.Value.TryRemove(mail.DeduplicationKey, out _);
            throw;
        }
    }

    private async Task WriteAsync(OutgoingMail mail, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(outboxPath);
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

    /// <summary>The keys of the emails already in the folder: names are "{time}-{key}-{random}.eml".</summary>
    private static ConcurrentDictionary<string, bool> SentKeys(string outboxPath)
    {
        Directory.CreateDirectory(outboxPath);
        var sent = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(outboxPath, "*.eml"))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            var (first, last) = (name.IndexOf('-', StringComparison.Ordinal), name.LastIndexOf('-'));
            if (first > 0 && last > first)
            {
                sent.TryAdd(name[(first + 1)..last], true);
            }
        }

        return sent;
    }

    private static string Part(string boundary, string contentType, string body) =>
        $"--{boundary}\r\nContent-Type: {contentType}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body.ReplaceLineEndings("\r\n")}\r\n";
}
