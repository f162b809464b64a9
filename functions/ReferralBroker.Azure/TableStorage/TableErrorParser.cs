using System.Text.Json;
using Azure;
using Azure.Core;

namespace ReferralBroker.Azure.TableStorage;

/// <summary>
/// Reads the Table service's error: the x-ms-error-code header first, else the odata.error body. Azure.Core's own
/// parser only knows the {"error":{...}} shape of newer services.
/// </summary>
internal sealed class TableErrorParser : RequestFailedDetailsParser
{
    public static readonly TableErrorParser Instance = new();

    public override bool TryParse(Response response, out ResponseError? error, out IDictionary<string, string>? data)
    {
        data = null;
        var (code, message) = Read(response);
        error = code is null ? null : new ResponseError(code, message ?? code);
        return error is not null;
    }

    public static string? ReadErrorCode(Response response) => Read(response).Code;

    private static (string? Code, string? Message) Read(Response response)
    {
        response.Headers.TryGetValue("x-ms-error-code", out var headerCode);
        string? bodyCode = null, message = null;
        try
        {
            if (response.Content is { } content && content.ToMemory().Length > 0)
            {
                using var document = JsonDocument.Parse(content);
                if (document.RootElement.ValueKind == JsonValueKind.Object
                    && document.RootElement.TryGetProperty("odata.error", out var odataError))
                {
                    if (odataError.TryGetProperty("code", out var code))
                    {
                        bodyCode = code.GetString();
                    }

                    if (odataError.TryGetProperty("message", out var text) && text.ValueKind == JsonValueKind.Object
                        && text.TryGetProperty("value", out var value))
                    {
                        message = value.GetString();
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's HTML page, an empty 5xx): the status code alone will have to do.
        }

        return (headerCode ?? bodyCode, message);
    }
}
