using System.Text.Json;
using System.Text.Json.Serialization;

namespace ReferralBroker.Ports;

/// <summary>
/// The wire form of a <see cref="Ports.DispatchMessage"/>:
/// <c>{"messageId":"…","referralId":"…","partnerId":"…","category":"…","linkSecret":"…"}</c>. Shared by the
/// Service Bus sender, the Functions trigger that decodes it, and the embedded queue. The bytes hold the link
/// secret: callers zero them when done and never log them.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(DispatchMessage), TypeInfoPropertyName = "Message")]
public sealed partial class DispatchMessageJson : JsonSerializerContext
{
    public static byte[] Serialize(DispatchMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, Default.Message);

    /// <summary>
    /// The message, or null when the payload is not one (malformed JSON, a missing or null field). A trigger
    /// treats null as poison rather than catching exceptions whose text could quote the payload.
    /// </summary>
    public static DispatchMessage? Deserialize(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            return JsonSerializer.Deserialize(utf8Json, Default.Message);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
