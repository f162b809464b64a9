using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using MimeKit;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Tests.Mail;

public enum SmtpTestMode
{
    StartTls,
    Tls,
    Plain,
}

/// <summary>
/// A real SMTP server (the npm package smtp-server, <c>smtp-server.js</c>) in a node process of its own on a free
/// loopback port, with a certificate made for this run (nothing secret is committed). Its control channel (HTTP on
/// loopback) tells what it received and scripts its answers: 4xx for the next messages, 5xx for some recipients.
/// </summary>
public sealed class SmtpTestServer : IDisposable
{
    public const string UserName = "broker";
    public const string Password = "relay-password-Zq81xw";
    private readonly NodeScript _node;

    private SmtpTestServer(NodeScript node, string certificateSha256)
    {
        _node = node;
        Port = node.Ports.GetProperty("smtpPort").GetInt32();
        CertificateSha256 = certificateSha256;
    }

    public int Port { get; }

    /// <summary>Hex SHA-256 of the server's certificate: the pin the broker is given.</summary>
    public string CertificateSha256 { get; }

    public static async Task<SmtpTestServer> StartAsync(SmtpTestMode mode = SmtpTestMode.StartTls, bool withAuth = true)
    {
        using var certificate = TestCertificate.SelfSigned();
        var config = new JsonObject
        {
            ["mode"] = mode switch { SmtpTestMode.Tls => "tls", SmtpTestMode.Plain => "plain", _ => "starttls" },
            ["key"] = certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem(),
            ["cert"] = certificate.ExportCertificatePem(),
            ["users"] = withAuth ? new JsonObject { [UserName] = Password } : new JsonObject(),
        };

        // The key goes over the pipe, not the command line or a file: it is a throwaway, but nothing needs to see it.
        var node = await NodeScript.StartAsync("smtp-server", Path.Combine("tests", "ReferralBroker.Tests", "Mail", "smtp-server.js"), config.ToJsonString());
        return new SmtpTestServer(node, Convert.ToHexStringLower(SHA256.HashData(certificate.RawData)));
    }

    /// <summary>The broker's settings for this server: the pin, and the test credentials when <paramref name="password"/> is not given.</summary>
    public Dictionary<string, string?> Settings(SmtpTestMode security = SmtpTestMode.StartTls, string? password = Password, bool pin = true) => new()
    {
        ["Broker:Mail:Smtp:Host"] = "127.0.0.1",
        ["Broker:Mail:Smtp:Port"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Broker:Mail:Smtp:Security"] = security switch { SmtpTestMode.Tls => "Tls", SmtpTestMode.Plain => "None", _ => "StartTls" },
        ["Broker:Mail:Smtp:UserName"] = password is null ? null : UserName,
        ["Broker:Mail:Smtp:Password"] = password,
        ["Broker:Mail:Smtp:CertificateSha256"] = pin ? CertificateSha256 : null,
        ["Broker:Mail:From"] = "referrals@broker.test",
    };

    public async Task<SmtpRecord> RecordAsync()
    {
        var record = await _node.RecordAsync();
        return new SmtpRecord(
            [.. record.GetProperty("received").EnumerateArray().Select(ReceivedMail.Read)],
            record.GetProperty("authFailures").GetInt32(),
            record.GetProperty("temporaryFailures").GetInt32(),
            record.GetProperty("refusedRecipients").GetInt32(),
            record.GetProperty("refusedSenders").GetInt32(),
            record.GetProperty("connections").GetInt32());
    }

    /// <summary>The next <paramref name="count"/> messages are answered 451 after their data.</summary>
    public Task FailNextAsync(int count) => ScriptAsync(new JsonObject { ["failNext"] = count });

    /// <summary>These recipients are answered 550 at RCPT TO.</summary>
    public Task RefuseAsync(params string[] recipients) => ScriptAsync(new JsonObject { ["refuse"] = new JsonArray([.. recipients.Select(r => (JsonNode)r)]) });

    /// <summary>
    /// Every recipient is answered at RCPT TO with exactly <paramref name="code"/> and <paramref name="text"/> (which
    /// carries the relay's own enhanced status code, "5.7.1 Relay access denied"), until <see cref="LiftRecipientReplyAsync"/>.
    /// </summary>
    public Task AnswerRecipientsAsync(int code, string text) =>
        ScriptAsync(new JsonObject { ["rcptReply"] = new JsonObject { ["code"] = code, ["text"] = text } });

    /// <summary>Recipients are accepted again (as the other scripts say).</summary>
    public Task LiftRecipientReplyAsync() => ScriptAsync(new JsonObject { ["rcptReply"] = null });

    /// <summary>These senders are answered 553 at MAIL FROM.</summary>
    public Task RefuseSendersAsync(params string[] senders) => ScriptAsync(new JsonObject { ["refuseSenders"] = new JsonArray([.. senders.Select(r => (JsonNode)r)]) });

    /// <summary>
    /// Every open connection is closed now, as a relay closes one idle too long: with a 421 reply first
    /// (<paramref name="withReply"/>) or without a word.
    /// </summary>
    public Task DropConnectionsAsync(bool withReply) => ScriptAsync(new JsonObject { ["dropConnections"] = withReply ? "421" : "silent" });

    public void Dispose() => _node.Dispose();

    private Task ScriptAsync(JsonObject body) => _node.ScriptAsync(body);
}

/// <summary>What the server saw; <paramref name="Connections"/> counts the connections it accepted.</summary>
public sealed record SmtpRecord(IReadOnlyList<ReceivedMail> Received, int AuthFailures, int TemporaryFailures, int RefusedRecipients, int RefusedSenders, int Connections);

/// <summary>One message as the server accepted it: the envelope, who authenticated, whether the session was TLS, and the bytes.</summary>
public sealed record ReceivedMail(string? From, IReadOnlyList<string> To, string? User, bool Secure, byte[] Raw)
{
    public MimeMessage Message
    {
        get
        {
            using var stream = new MemoryStream(Raw);
            return MimeMessage.Load(stream);
        }
    }

    /// <summary>The text part, decoded (the transfer encoding may have folded the link).</summary>
    public string Text => Message.TextBody ?? "";

    public static ReceivedMail Read(JsonElement e) => new(
        e.GetProperty("from").GetString(),
        [.. e.GetProperty("to").EnumerateArray().Select(t => t.GetString()!)],
        e.GetProperty("user").GetString(),
        e.GetProperty("secure").GetBoolean(),
        Convert.FromBase64String(e.GetProperty("raw").GetString()!));
}
