using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using ReferralBroker.Azure.ServiceBus;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;

namespace ReferralBroker.Azure;

/// <summary>The reply the Functions host expects from a custom handler (reference §1.5).</summary>
public sealed record InvocationResponse(Dictionary<string, object?> Outputs, IReadOnlyList<string> Logs, object? ReturnValue);

/// <summary>
/// Where the Functions host posts trigger invocations: POST /{FunctionName} with {"Data": ..., "Metadata": ...}.
/// Mapped only when hosted as a custom handler, where Kestrel listens on loopback for the host alone.
/// A 2xx reply completes a Service Bus message; anything else makes the host abandon it for redelivery, and
/// Service Bus dead-letters it after maxDeliveryCount.
/// </summary>
internal static partial class FunctionInvocationEndpoints
{
    public static readonly IReadOnlyList<string> DispatchFunctions = ["DispatchHealth", "DispatchLegal", "DispatchEmployment", "DispatchOther"];
    public const string SweepFunction = "Sweep";

    public static IEndpointRouteBuilder MapFunctionInvocations(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("").ExcludeFromDescription();
        foreach (var function in DispatchFunctions)
        {
            group.MapPost($"/{function}", Dispatch).WithName(function);
        }

        group.MapPost($"/{SweepFunction}", Sweep).WithName(SweepFunction);
        return routes;
    }

    /// <remarks>Kept only until the isolated-worker hosting replaces the custom handler; it runs the inbox's per-message code.</remarks>
    public static async Task<JsonHttpResult<InvocationResponse>> Dispatch(
        HttpRequest request, ServiceBusDispatchHandler handler, ILoggerFactory loggers, CancellationToken ct)
    {
        var logger = loggers.CreateLogger(typeof(FunctionInvocationEndpoints));
        using var invocation = await InvocationPayload.ReadAsync(request, ct);
        var deliveryCount = invocation?.Metadata("DeliveryCount") is { ValueKind: JsonValueKind.Number } count ? count.GetInt32() : 0;
        if (invocation?.ServiceBusBody("message") is not { } body)
        {
            // Unreadable: let it be retried and dead-lettered, where the sweep purges it after its time-to-live.
            LogUnreadable(logger, deliveryCount);
            return Reply(StatusCodes.Status500InternalServerError, "Unreadable dispatch message; abandoned.");
        }

        var messageId = invocation.Metadata("MessageId") is { ValueKind: JsonValueKind.String } id ? id.GetString()! : "";
        var enqueued = invocation.Metadata("EnqueuedTimeUtc") is { ValueKind: JsonValueKind.String } at
            && DateTimeOffset.TryParse(at.GetString(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed)
            ? parsed : DateTimeOffset.MinValue;
        var disposition = await handler.HandleAsync(body, messageId, deliveryCount, enqueued, ct);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(body);
        // The host completes on a 2xx and abandons otherwise; it dead-letters after maxDeliveryCount.
        return disposition == DispatchDisposition.Complete
            ? Reply(StatusCodes.Status200OK, $"Message {messageId}: completed (delivery {deliveryCount}).")
            : Reply(StatusCodes.Status500InternalServerError, $"Message {messageId}: {disposition} (delivery {deliveryCount}).");
    }

    public static async Task<JsonHttpResult<InvocationResponse>> Sweep(
        ReferralSweeper sweeper, ServiceBusDeadLetterPurger deadLetters, ReferralService referrals,
        NotificationDeliverer notifications, CancellationToken ct)
    {
        var report = await sweeper.SweepAsync(ct);
        var undeliverable = 0;
        foreach (var referralId in await deadLetters.PurgeExpiredAsync(ct))
        {
            undeliverable += await referrals.MarkUndeliverableAsync(referralId, ct) ? 1 : 0;
        }

        // The status changes of this sweep and of the requests since the last one: notifications ride on the timer.
        var notified = await notifications.DeliverDueAsync(ct);

        return Reply(StatusCodes.Status200OK,
            $"Sweep: {report.Expired} expired, {report.SealedDestroyed} sealed destroyed, {report.Purged} purged, " +
            $"{report.IdempotencyPurged} idempotency keys forgotten, {undeliverable} dead-lettered referrals marked for re-sending, {notified} notifications attempted.");
    }

    private static JsonHttpResult<InvocationResponse> Reply(int status, string log) =>
        TypedResults.Json(new InvocationResponse([], [log], null), InvocationJsonContext.Default.InvocationResponse, statusCode: status);

    [LoggerMessage(Level = LogLevel.Error, Message = "A dispatch invocation held no readable message (delivery {DeliveryCount})")]
    private static partial void LogUnreadable(ILogger logger, int deliveryCount);

}

/// <summary>
/// The host's invocation request. Metadata values may arrive JSON-encoded inside a JSON string ("\"abc\"", "3"),
/// depending on the host version, so every value is unwrapped once before use (reference §1.4).
/// </summary>
internal sealed class InvocationPayload(JsonElement data, JsonElement metadata) : IDisposable
{
    private readonly List<JsonDocument> _unwrapped = [];

    public static async Task<InvocationPayload?> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, cancellationToken: ct);
            var root = document.RootElement.Clone();
            return root.ValueKind == JsonValueKind.Object
                ? new InvocationPayload(Property(root, "Data") ?? default, Property(root, "Metadata") ?? default)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public JsonElement? Metadata(string name) => metadata.ValueKind == JsonValueKind.Object && Property(metadata, name) is { } value
        ? Unwrap(value)
        : null;

    /// <summary>The trigger's message body: base64 of the exact bytes with dataType binary, else the JSON text.</summary>
    public byte[]? ServiceBusBody(string bindingName)
    {
        if (data.ValueKind != JsonValueKind.Object || Property(data, bindingName) is not { ValueKind: JsonValueKind.String } body)
        {
            return null;
        }

        var text = body.GetString()!;
        var bytes = new byte[text.Length];
        return Convert.TryFromBase64String(text, bytes, out var written)
            ? bytes[..written]
            : System.Text.Encoding.UTF8.GetBytes(text);
    }

    public void Dispose()
    {
        foreach (var document in _unwrapped)
        {
            document.Dispose();
        }
    }

    private JsonElement Unwrap(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            return value;
        }

        try
        {
            var inner = JsonDocument.Parse(value.GetString()!);
            _unwrapped.Add(inner);
            return inner.RootElement;
        }
        catch (JsonException)
        {
            return value;
        }
    }

    private static JsonElement? Property(JsonElement element, string name)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value;
            }
        }

        return null;
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.Unspecified)]
[JsonSerializable(typeof(InvocationResponse))]
internal sealed partial class InvocationJsonContext : JsonSerializerContext;
