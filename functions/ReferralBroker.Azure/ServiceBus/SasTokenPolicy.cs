using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;

namespace ReferralBroker.Azure.ServiceBus;

/// <summary>
/// Signs each request with a Service Bus shared access signature for one resource URI. The token is cached and
/// renewed shortly before it expires, so HMAC work happens about once an hour rather than per request. It sits
/// among the per-retry policies so a retry after a long back-off never goes out with an expired token.
/// </summary>
public sealed class SasTokenPolicy : HttpPipelineSynchronousPolicy
{
    private static readonly TimeSpan MaxRefreshMargin = TimeSpan.FromMinutes(5);

    private readonly string _resourceUri;
    private readonly string _keyName;
    private readonly byte[] _key;
    private readonly TimeProvider _time;
    private readonly TimeSpan _lifetime;
    private readonly TimeSpan _refreshMargin;
    private readonly Lock _gate = new();
    private CachedToken? _cached;

    /// <param name="resourceUri">What the token grants access to; it also covers every path below it.</param>
    /// <param name="key">The key as shown in the portal. Service Bus signs with its UTF-8 bytes, not base64-decoded.</param>
    public SasTokenPolicy(string resourceUri, string keyName, string key, TimeProvider time, TimeSpan? lifetime = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(resourceUri);
        ArgumentException.ThrowIfNullOrWhiteSpace(keyName);
        ArgumentException.ThrowIfNullOrEmpty(key);
        _lifetime = lifetime ?? TimeSpan.FromHours(1);
        if (_lifetime < TimeSpan.FromMinutes(1))
        {
            throw new ArgumentOutOfRangeException(nameof(lifetime), "A SAS token should live at least a minute.");
        }

        _resourceUri = resourceUri;
        _keyName = keyName;
        _key = Encoding.UTF8.GetBytes(key);
        _time = time;
        _refreshMargin = _lifetime / 4 < MaxRefreshMargin ? _lifetime / 4 : MaxRefreshMargin;
    }

    public override void OnSendingRequest(HttpMessage message) =>
        message.Request.Headers.SetValue(HttpHeader.Names.Authorization, CurrentToken());

    /// <summary>The cached token, or a new one when less than the refresh margin is left.</summary>
    internal string CurrentToken()
    {
        var now = _time.GetUtcNow();
        var cached = Volatile.Read(ref _cached);
        if (cached is not null && now < cached.RenewAt)
        {
            return cached.Token;
        }

        lock (_gate)
        {
            if (_cached is null || now >= _cached.RenewAt)
            {
                var expiry = now + _lifetime;
                var token = Create(_resourceUri, _keyName, _key, expiry.ToUnixTimeSeconds());
                Volatile.Write(ref _cached, new CachedToken(token, expiry - _refreshMargin));
            }

            return _cached!.Token;
        }
    }

    /// <summary>
    /// <c>SharedAccessSignature sr={enc(uri)}&amp;sig={enc(base64(HMAC-SHA256(key, enc(uri) + "\n" + expiry)))}&amp;se={expiry}&amp;skn={keyName}</c>,
    /// with the same encoded URI in <c>sr</c> and in the string to sign, as the service recomputes it from <c>sr</c>.
    /// <c>skn</c> is encoded too, as the Azure SDK does; that changes nothing for the usual key names.
    /// </summary>
    public static string Create(string resourceUri, string keyName, string key, long expiryUnixSeconds) =>
        Create(resourceUri, keyName, Encoding.UTF8.GetBytes(key), expiryUnixSeconds);

    private static string Create(string resourceUri, string keyName, byte[] key, long expiryUnixSeconds)
    {
        var encodedResource = WebUtility.UrlEncode(resourceUri);
        var expiry = expiryUnixSeconds.ToString(CultureInfo.InvariantCulture);
        var signature = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{encodedResource}\n{expiry}")));
        return $"SharedAccessSignature sr={encodedResource}&sig={WebUtility.UrlEncode(signature)}&se={expiry}&skn={WebUtility.UrlEncode(keyName)}";
    }

    // Not a record: a generated ToString would print the token.
    private sealed class CachedToken(string token, DateTimeOffset renewAt)
    {
        public string Token { get; } = token;

        public DateTimeOffset RenewAt { get; } = renewAt;
    }
}
