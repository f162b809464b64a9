using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using ReferralBroker.Gate;
using ReferralBroker.Http;
using ReferralBroker.Pages;

namespace ReferralBroker.Embedded;

/// <summary>
/// GET /dev/mailbox: the development mailbox shown to a developer's browser on the broker's own machine, so a
/// newcomer can follow a partner's link without a mail server. Only while the development mailbox is the mail mode,
/// in the Development environment with no forwarded-headers proxy configured (a trusted proxy's rewrite of address
/// and host would make the world look local, and a bare proxy_pass is indistinguishable from a local browser), and
/// only to a caller on loopback that came through no proxy: anyone else gets the 404 of a route that does not exist. It reads, never changes anything; the gate gives it the strict CSP and no-store of every page.
/// </summary>
internal static partial class DevelopmentMailboxPage
{
    public const string Path = "/dev/mailbox";

    public static IEndpointRouteBuilder MapDevelopmentMailbox(this IEndpointRouteBuilder routes)
    {
        routes.MapGet(Path, Show).RequireAccess(Access.Anyone).ExcludeFromDescription();
        return routes;
    }

    public static Results<ContentHttpResult, ProblemHttpResult> Show(HttpContext context, MailMode mail)
    {
        if (mail.DevelopmentMailbox is not { } mailbox || !mail.PageServed || !FromThisMachine(context))
        {
            return Problems.NotFound();
        }

        var messages = mailbox.Messages(out var unreadable).Reverse().ToList();
        var skipped = unreadable == 0 ? Html.Empty
            : Html.Format($"<p><strong>{unreadable} messages could not be read</strong> (a file truncated or altered) and are not shown.</p>");
        var items = Html.Join(messages.Select(Message));
        var html = Html.Format($"""
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="referrer" content="no-referrer">
            <meta name="robots" content="noindex">
            <title>Development mailbox</title>
            <link rel="stylesheet" href="/assets/site.css">
            </head>
            <body>
            <main>
            <h1>Development mailbox</h1>
            <p>No SMTP server is configured, so the broker keeps its emails here instead of sending them: for development
            only, never for production (set <code>Broker__Mail__Smtp__Host</code>). They are sealed under a key that lives
            only in the broker's memory and are gone when it restarts; a partner's link is removed once the referral's
            details are destroyed. Only a browser on this machine sees this page.</p>
            <p>{messages.Count} messages, newest first. Reload the page to see new ones.</p>
            {skipped}
            {items}
            </main>
            </body>
            </html>
            """);
        return TypedResults.Content(html.Value, "text/html; charset=utf-8");
    }

    private static Html Message(MailboxMessage message)
    {
        var body = BodyOf(message.Text);
        var links = Html.Join(LinkPattern().Matches(body).Select(m => m.Value).Distinct(StringComparer.Ordinal)
            .Select(link => Html.Format($"""<p><a href="{link}" rel="noreferrer">{(message.IsPartnerEmail ? "Open the referral" : link)}</a></p>""")));
        var kind = message.IsPartnerEmail ? "Partner's email" : "Notification to the organisation";
        var redacted = message.Redacted ? Html.Format($"<p><strong>Redacted:</strong> the referral's details were destroyed.</p>") : Html.Empty;
        return Html.Format($"""
            <article>
            <h2>{message.Subject}</h2>
            <p>{kind} to {message.To}, {message.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture)}
            (referral {message.ReferralId})</p>
            {redacted}
            {links}
            <pre>{body}</pre>
            </article>
            """);
    }

    /// <summary>The text/plain part of the message the mailbox composed.</summary>
    private static string BodyOf(string message)
    {
        var start = message.IndexOf("Content-Type: text/plain", StringComparison.Ordinal);
        if (start < 0)
        {
            return "";
        }

        start = message.IndexOf("\r\n\r\n", start, StringComparison.Ordinal) + 4;
        var end = message.IndexOf("\r\n--=_", start, StringComparison.Ordinal);
        return (end < 0 ? message[start..] : message[start..end]).ReplaceLineEndings("\n");
    }

    /// <summary>
    /// A developer's own browser: a loopback peer, asking for a loopback host, with no proxy's forwarding header, nor
    /// the X-Original-* headers the forwarded-headers middleware leaves once it has consumed them. A reverse proxy on
    /// the same machine also connects from loopback; the headers it adds, or the public host name it passes on, keep
    /// the page from being served to the world through it.
    /// </summary>
    internal static bool FromThisMachine(HttpContext context)
    {
        var remote = context.Connection.RemoteIpAddress;
        if (remote is null || !IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote))
        {
            return false;
        }

        var headers = context.Request.Headers;
        if (ProxyHeaders.Any(headers.ContainsKey))
        {
            return false;
        }

        var host = context.Request.Host.Host;
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }

    private static readonly string[] ProxyHeaders =
    [
        "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix", "X-Real-IP", "Via",
        "X-Original-For", "X-Original-Host", "X-Original-Proto", "X-Original-Prefix",
    ];

    [GeneratedRegex(@"https?://[^\s<>""]+")]
    private static partial Regex LinkPattern();
}
