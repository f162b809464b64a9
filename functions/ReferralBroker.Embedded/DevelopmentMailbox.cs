using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;

namespace ReferralBroker.Embedded;

/// <summary>
/// The mail mode, chosen once at composition: the <see cref="Embedded.DevelopmentMailbox"/> when the broker keeps
/// mail itself (no SMTP server configured), null when a real server sends it. <paramref name="PageServed"/>: whether
/// /dev/mailbox exists at all (Development, no forwarded-headers proxy configured).
/// </summary>
internal sealed record MailMode(DevelopmentMailbox? DevelopmentMailbox, bool PageServed = false);

/// <summary>A message in the development mailbox, as a developer reads it.</summary>
/// <param name="Key">The sender's de-duplication key: the referral id for the partner's email, the event for a notification.</param>
/// <param name="Text">The whole message (RFC 5322, as an .eml file would hold it).</param>
/// <param name="Redacted">The referral's sealed details were destroyed, and the link with them.</param>
internal sealed record MailboxMessage(string FileName, string Key, string ReferralId, DateTimeOffset At, string To, string Subject, string Text, bool Redacted)
{
    /// <summary>The partner's email, which carries the link secret; the others are notifications to the organisation.</summary>
    public bool IsPartnerEmail => PartnerMail.IsPartnerEmail(Key, ReferralId);
}

/// <summary>
/// The embedded default's mail when no SMTP server is configured: a mailbox for a developer, never for production.
/// A partner's email carries the link secret S, and broker.db holds the ciphertext S opens, so the mailbox must not
/// hand S to whoever copies the data folder. Each message is a file in the mailbox folder sealed with AES-256-GCM
/// under a key that exists only in this process's memory: the folder can be copied, never read. The messages are
/// read through this class (the page at /dev/mailbox, the tests, the benchmark's file times); files sealed by an
/// earlier process are unreadable and are deleted at start. A partner's email is redacted once the sweep finds its
/// referral's sealed details destroyed, and every email of a referral is deleted once its record is purged.
/// </summary>
/// <remarks>
/// File names are "{time}-{key}-{random}.sealed", the time to the millisecond: the referral id and when the email
/// was written can be read without the key (bench/BenchTools matches them to acknowledgements).
/// </remarks>
internal sealed partial class DevelopmentMailbox : IMailSender, IDisposable
{
    public const string Extension = ".sealed";
    private const string RedactedBody =
        "The referral's details were destroyed (it was declined, withdrawn, expired or kept as long as allowed), " +
        "so the development mailbox removed this email's link.";

    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly string _folder;
    private readonly string _from;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Entry> _sent = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _forgetting = new(1, 1);

    /// <param name="pageServed">Whether /dev/mailbox shows the messages; when not, the announcement says they cannot be read.</param>
    public DevelopmentMailbox(string folder, string from, TimeProvider time, ILogger<DevelopmentMailbox> logger, bool pageServed = true)
    {
        _folder = Path.GetFullPath(folder);
        _from = from;
        _time = time;
        if (pageServed)
        {
            LogDevelopmentMailbox(logger, _folder);
        }
        else
        {
            LogUnreadableMailbox(logger, _folder);
        }

        DeleteEarlierMail(_folder, logger);
        if (Directory.Exists(_folder))
        {
            PrivateFiles.Folder(_folder);
        }
    }

    public string Folder => _folder;

    public async Task SendAsync(OutgoingMail mail, CancellationToken cancellationToken)
    {
        // Dispatch is at least once: a crash after the email but before "delivered" is recorded redelivers the
        // message. One email per key is the mailbox's idempotency, as a provider's would be. Kept in memory: a
        // mail server outlives a crashed broker, and this mailbox's messages do not outlive the process.
        var at = _time.GetUtcNow();
        var entry = new Entry($"{at:yyyyMMdd'T'HHmmssfff}-{mail.DeduplicationKey}-{Guid.NewGuid().ToString("N")[..8]}{Extension}",
            mail.DeduplicationKey, mail.ReferralId, at, mail.To, mail.Subject);
        if (!_sent.TryAdd(mail.DeduplicationKey, entry))
        {
            return;
        }

        try
        {
            await WriteAsync(entry, Compose(entry, mail.TextBody, mail.HtmlBody), cancellationToken);
        }
        catch
        {
            _sent.TryRemove(new KeyValuePair<string, Entry>(mail.DeduplicationKey, entry));
            throw;
        }
    }

    /// <summary>Every message this mailbox holds, oldest first.</summary>
    public IReadOnlyList<MailboxMessage> Messages() => Messages(out _);

    /// <summary>Every message this mailbox can read, oldest first; <paramref name="unreadable"/> counts the files it cannot open.</summary>
    public IReadOnlyList<MailboxMessage> Messages(out int unreadable)
    {
        var messages = new List<MailboxMessage>();
        unreadable = 0;
        foreach (var entry in _sent.Values.Where(e => e.Written && !e.Deleted).OrderBy(e => e.FileName, StringComparer.Ordinal))
        {
            switch (Read(entry))
            {
                case { } text:
                    messages.Add(new MailboxMessage(entry.FileName, entry.Key, entry.ReferralId, entry.At, entry.To, entry.Subject, text, entry.Redacted));
                    break;
                case null when File.Exists(Path.Combine(_folder, entry.FileName)):
                    unreadable++;
                    break;
            }
        }

        return messages;
    }

    /// <summary>
    /// Redacts the partner's email of each referral whose sealed details are gone, and deletes every email of a
    /// referral whose record was purged. The sweep calls it: that is where details are destroyed on time, and the
    /// other paths (accept's retention, decline, withdrawal, expiry, a delivery given up) are found at the next sweep.
    /// </summary>
    /// <returns>How many files were redacted or deleted.</returns>
    public async Task<int> ForgetEndedAsync(IReferralStore store, CancellationToken cancellationToken)
    {
        // Two sweeps at once (a timer and a test, or a slow one and the next) would redact one file twice.
        await _forgetting.WaitAsync(cancellationToken);
        try
        {
            return await ForgetEndedOnceAsync(store, cancellationToken);
        }
        finally
        {
            _forgetting.Release();
        }
    }

    private async Task<int> ForgetEndedOnceAsync(IReferralStore store, CancellationToken cancellationToken)
    {
        var changed = 0;
        foreach (var referral in _sent.Values.Where(e => e.Written && !e.Deleted).GroupBy(e => e.ReferralId, StringComparer.Ordinal).ToList())
        {
            var record = await store.FindAsync(referral.Key, cancellationToken);
            if (record is null)
            {
                foreach (var entry in referral)
                {
                    File.Delete(Path.Combine(_folder, entry.FileName));
                    entry.Deleted = true;
                    changed++;
                }
            }
            else if (record.Value.Sealed is null)
            {
                foreach (var entry in referral.Where(e => e.IsPartnerEmail && !e.Redacted))
                {
                    await WriteAsync(entry, Compose(entry, RedactedBody, $"<p>{RedactedBody}</p>"), cancellationToken, replace: true);
                    entry.Redacted = true;
                    changed++;
                }
            }
        }

        return changed;
    }

    /// <summary>The key goes with the process anyway; zeroing it here keeps it out of a later memory dump too.</summary>
    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_key);
        _forgetting.Dispose();
    }

    /// <summary>
    /// Deletes the mail files an earlier process left in <paramref name="folder"/>, in either mail mode: sealed under a
    /// key that died with its process, half-written (.tmp), or an outbox .eml of an earlier version holding S in the
    /// clear. None can be read here, and none may stay beside broker.db. Only names of the mailbox's own pattern: the
    /// folder may be configured to one that holds other files.
    /// </summary>
    /// <returns>How many files were deleted.</returns>
    public static int DeleteEarlierMail(string folder, ILogger logger)
    {
        if (!Directory.Exists(folder))
        {
            return 0;
        }

        var deleted = 0;
        foreach (var file in Directory.EnumerateFiles(folder).Where(f => MailFileName().IsMatch(Path.GetFileName(f))))
        {
            File.Delete(file);
            deleted++;
        }

        if (deleted > 0)
        {
            LogEarlierMailDeleted(logger, deleted);
        }

        return deleted;
    }

    private string Compose(Entry entry, string text, string html)
    {
        var boundary = "=_" + Guid.NewGuid().ToString("N");
        return new StringBuilder()
            .Append($"From: ReferralBroker <{_from}>\r\n")
            .Append($"To: <{entry.To}>\r\n")
            .Append($"Subject: {entry.Subject}\r\n")
            .Append($"Date: {entry.At:ddd, dd MMM yyyy HH:mm:ss} +0000\r\n")
            .Append($"Message-ID: <{Path.GetFileNameWithoutExtension(entry.FileName)}@referral-broker>\r\n")
            .Append("MIME-Version: 1.0\r\n")
            .Append($"Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n")
            .Append(Part(boundary, "text/plain", text))
            .Append(Part(boundary, "text/html", html))
            .Append($"--{boundary}--\r\n")
            .ToString();
    }

    private async Task WriteAsync(Entry entry, string message, CancellationToken cancellationToken, bool replace = false)
    {
        PrivateFiles.Folder(_folder);
        var plain = Encoding.UTF8.GetBytes(message);
        var sealedMessage = new byte[ReferralBroker.Sealing.ReferralSeal.NonceBytes + plain.Length + ReferralBroker.Sealing.ReferralSeal.TagBytes];
        var nonce = sealedMessage.AsSpan(0, ReferralBroker.Sealing.ReferralSeal.NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(_key, ReferralBroker.Sealing.ReferralSeal.TagBytes))
        {
            // The file's name is authenticated with it: a sealed message cannot be passed off under another referral.
            aes.Encrypt(nonce, plain, sealedMessage.AsSpan(nonce.Length, plain.Length), sealedMessage.AsSpan(nonce.Length + plain.Length),
                Encoding.UTF8.GetBytes(entry.FileName));
        }

        var path = Path.Combine(_folder, entry.FileName);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        await using (var file = new FileStream(temporary, PrivateFiles.NewFile(FileMode.Create)))
        {
            await file.WriteAsync(sealedMessage, cancellationToken);
        }

        // A reader of the folder never sees half a message.
        File.Move(temporary, path, overwrite: replace);
        entry.Written = true;
    }

    private string? Read(Entry entry)
    {
        byte[] sealedMessage;
        try
        {
            sealedMessage = File.ReadAllBytes(Path.Combine(_folder, entry.FileName));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        var nonceLength = ReferralBroker.Sealing.ReferralSeal.NonceBytes;
        var tagLength = ReferralBroker.Sealing.ReferralSeal.TagBytes;
        if (sealedMessage.Length < nonceLength + tagLength)
        {
            return null;
        }

        var plain = new byte[sealedMessage.Length - nonceLength - tagLength];
        try
        {
            using var aes = new AesGcm(_key, tagLength);
            aes.Decrypt(sealedMessage.AsSpan(0, nonceLength), sealedMessage.AsSpan(nonceLength, plain.Length),
                sealedMessage.AsSpan(nonceLength + plain.Length), plain, Encoding.UTF8.GetBytes(entry.FileName));
        }
        catch (CryptographicException)
        {
            // Truncated, altered, or the key zeroed by Dispose: one unreadable message, not a failed page.
            return null;
        }

        return Encoding.UTF8.GetString(plain);
    }

    private static string Part(string boundary, string contentType, string body) =>
        $"--{boundary}\r\nContent-Type: {contentType}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body.ReplaceLineEndings("\r\n")}\r\n";

    [LoggerMessage(Level = LogLevel.Warning, Message =
        "Development mailbox in use: partner emails are not sent but kept in {Folder}, sealed under a key that lives only in this process, " +
        "and shown at /dev/mailbox to a browser on this machine; they are gone at restart. Not for production: configure Broker__Mail__Smtp__Host")]
    private static partial void LogDevelopmentMailbox(ILogger logger, string folder);

    [LoggerMessage(Level = LogLevel.Warning, Message =
        "Development mailbox in use: partner emails are not sent but kept in {Folder}, sealed under a key that lives only in this process, " +
        "and NOT shown (/dev/mailbox exists only in the Development environment with no Broker:ForwardedHeaders proxy): the emails cannot be read " +
        "and partners get no link. Configure Broker__Mail__Smtp__Host")]
    private static partial void LogUnreadableMailbox(ILogger logger, string folder);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Count} mailbox files of an earlier process, unreadable now")]
    private static partial void LogEarlierMailDeleted(ILogger logger, int count);

    /// <summary>"{time}-{key}-{random}.sealed" (or an earlier version's .eml), and the .tmp files they are written as.</summary>
    [GeneratedRegex(@"^[0-9]{8}T[0-9]{9}-[A-Za-z0-9_.-]+-[0-9a-f]{8}\.(sealed|eml)(\.([0-9a-f]{32}\.)?tmp)?$")]
    private static partial Regex MailFileName();

    private sealed class Entry(string fileName, string key, string referralId, DateTimeOffset at, string to, string subject)
    {
        public string FileName { get; } = fileName;
        public string Key { get; } = key;
        public string ReferralId { get; } = referralId;
        public DateTimeOffset At { get; } = at;
        public string To { get; } = to;
        public string Subject { get; } = subject;
        public bool IsPartnerEmail => PartnerMail.IsPartnerEmail(Key, ReferralId);
        public bool Written { get; set; }
        public bool Redacted { get; set; }
        public bool Deleted { get; set; }
    }
}
