using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;

namespace ReferralBroker.Azure.TableStorage;

/// <summary>
/// Signs each request with the account key, Table flavour of SharedKey: no canonicalized x-ms- headers, and only the
/// comp parameter of the query. It must run per retry, since the date it signs has to be fresh on every attempt.
/// </summary>
internal sealed class SharedKeyPolicy : HttpPipelineSynchronousPolicy
{
    private readonly string _accountName;
    private readonly byte[] _accountKey;

    public SharedKeyPolicy(string accountName, byte[] accountKey)
    {
        _accountName = accountName;
        _accountKey = accountKey;
    }

    public override void OnSendingRequest(HttpMessage message)
    {
        var request = message.Request;
        var date = DateTimeOffset.UtcNow.ToString("R", CultureInfo.InvariantCulture);
        request.Headers.SetValue(TableHeaders.Date, date);

        var stringToSign = StringToSign(
            request.Method.Method,
            request.Headers.TryGetValue("Content-MD5", out var md5) ? md5 : null,
            request.Headers.TryGetValue("Content-Type", out var contentType) ? contentType : null,
            date,
            CanonicalizedResource(_accountName, request.Uri.ToUri()));
        var signature = Convert.ToBase64String(HMACSHA256.HashData(_accountKey, Encoding.UTF8.GetBytes(stringToSign)));
        request.Headers.SetValue("Authorization", $"SharedKey {_accountName}:{signature}");
    }

    internal static string StringToSign(string verb, string? contentMd5, string? contentType, string date, string canonicalizedResource) =>
        string.Join('\n', verb, contentMd5 ?? "", contentType ?? "", date, canonicalizedResource);

    /// <summary>
    /// "/" + account + the path exactly as sent. Against Azurite's path-style endpoint the path already starts with
    /// the account, so it appears twice; that is what the emulator expects.
    /// </summary>
    internal static string CanonicalizedResource(string accountName, Uri uri)
    {
        var resource = new StringBuilder("/").Append(accountName).Append(uri.AbsolutePath.Length > 0 ? uri.AbsolutePath : "/");
        foreach (var parameter in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            if (parameter.StartsWith("comp=", StringComparison.OrdinalIgnoreCase))
            {
                resource.Append("?comp=").Append(parameter.AsSpan(5));
                break;
            }
        }

        return resource.ToString();
    }
}
