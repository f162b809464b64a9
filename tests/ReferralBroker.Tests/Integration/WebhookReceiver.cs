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
/// An organisation's webhook endpoint on loopback Kestrel. It verifies each request per Standard Webhooks v1 with its own
/// HMAC code (not the broker's, nor the package the broker signs with), against the test's clock (the broker's fake
/// time), and records what it accepted and refused. <see cref="StandardWebhooksReceiver"/> verifies with the standard's
/// own library instead.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    /// <summary>32 bytes, in the Standard Webhooks form.</summary>
    public const string Secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
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
            var id = context.Request.Headers["webhook-id"].ToString();
            var timestamp = context.Request.Headers["webhook-timestamp"].ToString();
            var signature = context.Request.Headers["webhook-signature"].ToString();
            if (!SignatureIsValid(id, timestamp, signature, body, now()))
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
            // The webhook-id is the body's event id: what a receiver drops duplicates by.
            Assert.Equal(json.RootElement.GetProperty("eventId").GetString(), id);
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

    /// <summary>The specification's check: any <c>v1,</c> signature in the list matches HMAC-SHA-256(key, "id.timestamp.body").</summary>
    private static bool SignatureIsValid(string id, string timestamp, string header, byte[] body, DateTimeOffset now)
    {
        if (id.Length == 0 || !long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || (now - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > Tolerance)
        {
            return false;
        }

        var key = Convert.FromBase64String(Secret["whsec_".Length..]);
        var expected = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{timestamp}.").Concat(body).ToArray());
        return header.Split(' ').Any(s => s.StartsWith("v1,", StringComparison.Ordinal) && Convert.TryFromBase64String(s[3..], new byte[32], out var n)
            && n == 32 && CryptographicOperations.FixedTimeEquals(expected, Convert.FromBase64String(s[3..])));
    }
}
