using System.Security.Cryptography;
using System.Text;
using MimeKit;
using ReferralBroker.Ports;

namespace ReferralBroker.Embedded.Mail;

/// <summary>
/// The one MIME form of a broker email, for every way the embedded default sends one: the domain's generic subject,
/// its text and HTML bodies as alternatives, and nothing else (no tracking, no client data, no headers that say
/// more than the domain wrote).
/// </summary>
internal static class MimeMail
{
    public const string SenderName = "ReferralBroker";

    public static MimeMessage Compose(OutgoingMail mail, string from, DateTimeOffset now)
    {
        var body = new MultipartAlternative
        {
            new TextPart(MimeKit.Text.TextFormat.Plain) { Text = mail.TextBody },
            new TextPart(MimeKit.Text.TextFormat.Html) { Text = mail.HtmlBody },
        };
        var message = new MimeMessage
        {
            Subject = mail.Subject,
            Date = now,
            // The same id for every attempt of one email: a relay or a mail program that drops a repeated
            // Message-ID makes an at-least-once redelivery arrive once. Hashed, so the key's characters never
            // break the header.
            MessageId = $"{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(mail.DeduplicationKey)))[..32]}@{Domain(from)}",
            Body = body,
        };
        message.From.Add(new MailboxAddress(SenderName, from));
        // The constructor takes one addr-spec only: an address with a list or a display name in it is refused, not split.
        message.To.Add(new MailboxAddress(string.Empty, mail.To));
        return message;
    }

    private static string Domain(string address) => address[(address.LastIndexOf('@') + 1)..];
}
