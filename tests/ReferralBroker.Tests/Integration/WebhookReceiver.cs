using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ReferralBroker.Tests.Integration;

/// <summary>
/// An organisation's webhook endpoint on loopback Kestrel. It verifies each request the way the README tells
/// receivers to, with its own HMAC code (not the broker's), and records what it accepted and refused.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    public const string Secret = "whsec_test_0123456789abcdef";
    private static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);
    private readonly WebApplication _app;
    private int _failuresLeft;

    private WebhookReceiver(WebApplication app, Func<DateTimeOffset> now)
    {
        _app = app;
        app.MapPost("/hook", async (HttpContext context) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var body = buffer.ToArray();
            var signature = context.Request.Headers["ReferralBroker-Signature"].ToString();
            if (!SignatureIsValid(signature, body, now()))
            {
                Refused.Enqueue(signature);
                return Results.StatusCode(StatusCodes.Status400BadRequest);
            }

            if (Interlocked.Decrement(ref _failuresLeft) >= 0)
            {
                Attempts.Enqueue(Encoding.UTF8.GetString(body));
                return Results.StatusCode(StatusCodes.Status500InternalServerError);
            }

            Attempts.Enqueue(Encoding.UTF8.GetString(body));
            using var json = JsonDocument.Parse(body);
            Events.Enqueue(json.RootElement.Clone());
            Assert.Equal(json.RootElement.GetProperty("eventId").GetString(), context.Request.Headers["ReferralBroker-Event-Id"].ToString());
            return Results.NoContent();
        });
        app.MapPost("/moved", () => Results.Redirect("/hook", permanent: false, preserveMethod: true));
    }

    /// <summary>Every verified event the receiver accepted (2xx), duplicates included.</summary>
    public ConcurrentQueue<JsonElement> Events { get; } = new();
    /// <summary>Every verified request body, accepted or answered with a 500.</summary>
    public ConcurrentQueue<string> Attempts { get; } = new();
    public ConcurrentQueue<string> Refused { get; } = new();

    public Uri Url => new(Address, "/hook");
    public Uri RedirectingUrl => new(Address, "/moved");
    private Uri Address => new(_app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());

    public static async Task<WebhookReceiver> StartAsync(Func<DateTimeOffset> now)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var receiver = new WebhookReceiver(builder.Build(), now);
        await receiver._app.StartAsync();
        return receiver;
    }

    /// <summary>Answers the next <paramref name="count"/> valid requests with 500.</summary>
    public void FailNext(int count) => _failuresLeft = count;

    public IReadOnlyList<string?> EventIds => [.. Events.Select(e => e.GetProperty("eventId").GetString())];

    public IReadOnlyList<string?> Statuses => [.. Events.Select(e => e.GetProperty("status").GetString())];

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private static bool SignatureIsValid(string header, byte[] body, DateTimeOffset now)
    {
        var parts = header.Split(',').Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        if (!parts.TryGetValue("t", out var t) || !parts.TryGetValue("v1", out var v1)
            || !long.TryParse(t, CultureInfo.InvariantCulture, out var seconds)
            || (now - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > Tolerance)
        {
            return false;
        }

        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.ASCII.GetBytes(t + ".").Concat(body).ToArray());
        return CryptographicOperations.FixedTimeEquals(expected, Convert.FromHexString(v1));
    }
}
