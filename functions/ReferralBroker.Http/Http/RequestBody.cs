using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ReferralBroker.Http;

/// <summary>
/// Reads JSON bodies strictly: bounded in size, and refusing any property the endpoint does not know, so that no
/// field about a client slips in unnoticed.
/// </summary>
internal static class RequestBody
{
    public const int MaxBytes = 16 * 1024;

    /// <summary>The whole body, or null when it is larger than <paramref name="maxBytes"/> (<see cref="MaxBytes"/> unless given).</summary>
    public static async Task<byte[]?> ReadAsync(HttpRequest request, CancellationToken cancellationToken, int maxBytes = MaxBytes)
    {
        if (request.ContentLength > maxBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// The body as JSON, or null when it is not JSON in valid UTF-8. The parser leaves string contents unchecked
    /// until they are read, so invalid UTF-8 or a lone surrogate escape (\ud800) would otherwise surface later
    /// as a 500: every string and property name is decoded once here.
    /// </summary>
    public static JsonDocument? TryParse(byte[] body)
    {
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            return null;
        }

        JsonDocument? document = null;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 16, AllowDuplicateProperties = false });
            DecodeAllText(document.RootElement);
            return document;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            document?.Dispose();
            return null;
        }
    }

    private static void DecodeAllText(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                _ = element.GetString();
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    DecodeAllText(item);
                }

                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    _ = property.Name;
                    DecodeAllText(property.Value);
                }

                break;
        }
    }

    public static Dictionary<string, string[]> NotJsonObject() => new() { [""] = ["The body must be a JSON object."] };

    /// <summary>Adds an error for each property of <paramref name="element"/> outside <paramref name="known"/>.</summary>
    public static void RejectUnknown(JsonElement element, string path, IReadOnlyCollection<string> known, Dictionary<string, string[]> errors)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (!known.Contains(property.Name))
            {
                errors[Join(path, property.Name)] = ["Unknown property: nothing may be sent that the broker does not expect."];
            }
        }
    }

    /// <summary>A string property: missing is null, any other JSON type is an error.</summary>
    public static string? String(JsonElement parent, string name, string path, Dictionary<string, string[]> errors)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors[Join(path, name)] = ["Must be a string."];
            return null;
        }

        return value.GetString();
    }

    public static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    /// <summary>Reads a body of exactly one string property, e.g. {"token": "..."}.</summary>
    public static async Task<(string? Value, ProblemHttpResult? Problem)> ReadSingleStringAsync(
        HttpRequest request, string property, CancellationToken ct)
    {
        if (await ReadAsync(request, ct) is not { } body)
        {
            return (null, Problems.TooLarge(MaxBytes));
        }

        using var document = TryParse(body);
        if (document?.RootElement is not { ValueKind: JsonValueKind.Object } root)
        {
            return (null, Problems.Malformed(NotJsonObject()));
        }

        var malformed = new Dictionary<string, string[]>();
        RejectUnknown(root, "", [property], malformed);
        var value = String(root, property, "", malformed);
        return malformed.Count > 0 ? (null, Problems.Malformed(malformed)) : (value, null);
    }
}
