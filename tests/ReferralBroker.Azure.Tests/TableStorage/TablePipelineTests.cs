using System.Net;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using ReferralBroker.Azure.TableStorage;

namespace ReferralBroker.Azure.Tests.TableStorage;

/// <summary>How the SDK client is built from the options, checked offline against a recording transport.</summary>
public sealed class TablePipelineTests
{
    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task Without_an_account_key_requests_carry_a_bearer_token_for_the_storage_scope()
    {
        var transport = new RecordingHandler();
        var credential = new FixedCredential();
        var store = new TableIdempotencyStore(
            new TableStorageOptions { Endpoint = new Uri("https://acct.table.core.windows.net") },
            credential,
            transport.Options());

        await store.PurgeExpiredAsync(Records.Now, Ct);

        Assert.Equal(["https://storage.azure.com/.default"], credential.Scopes.Distinct());
        Assert.All(transport.Requests, r => Assert.Equal("Bearer test-token", r.Header("Authorization")));
        Assert.Equal("/Tables", transport.Requests[0].Uri.AbsolutePath);
        Assert.Equal("/brokeridempotency()", transport.Requests[1].Uri.AbsolutePath);
        Assert.Contains("ExpiresAt le datetime", Uri.UnescapeDataString(transport.Requests[1].Uri.Query), StringComparison.Ordinal);
    }

    [Fact]
    public void Content_logging_is_refused_at_construction()
    {
        var options = new TableStorageOptions { Endpoint = new Uri("https://acct.table.core.windows.net") };
        var clientOptions = new TableClientOptions();
        clientOptions.Diagnostics.IsLoggingContentEnabled = true;

        var failure = Assert.Throws<ArgumentException>(() => new TableReferralStore(options, new FixedCredential(), clientOptions));

        Assert.Equal("clientOptions", failure.ParamName);
        Assert.NotNull(new TableReferralStore(options, new FixedCredential(), new TableClientOptions()));
    }

    [Fact]
    public void Logging_the_Authorization_header_is_refused_at_construction()
    {
        var options = new TableStorageOptions { Endpoint = new Uri("https://acct.table.core.windows.net") };
        var clientOptions = new TableClientOptions();
        clientOptions.Diagnostics.LoggedHeaderNames.Add("authorization");

        var failure = Assert.Throws<ArgumentException>(() => new TableIdempotencyStore(options, new FixedCredential(), clientOptions));

        Assert.Equal("clientOptions", failure.ParamName);
    }

    [Fact]
    public async Task Requests_carry_no_record_content_into_the_SDK_log()
    {
        var transport = new RecordingHandler();
        var record = Records.Submitted();
        var logged = new List<string>();
        using (new global::Azure.Core.Diagnostics.AzureEventSourceListener((_, message) =>
        {
            lock (logged)
            {
                logged.Add(message);
            }
        }, System.Diagnostics.Tracing.EventLevel.Verbose))
        {
            var store = new TableReferralStore(
                new TableStorageOptions { Endpoint = new Uri("https://acct.table.core.windows.net") }, new FixedCredential(), transport.Options());
            await store.TryCreateAsync(record, Ct);
        }

        Assert.NotEmpty(logged);
        var log = string.Join('\n', logged);
        Assert.DoesNotContain(record.TokenHash, log, StringComparison.Ordinal);
        Assert.DoesNotContain(record.CapabilityHash, log, StringComparison.Ordinal);
        Assert.DoesNotContain("test-token", log, StringComparison.Ordinal);
    }

    [Fact]
    public void Bearer_auth_without_a_credential_is_refused_at_construction()
    {
        var options = new TableStorageOptions { Endpoint = new Uri("https://acct.table.core.windows.net") };

        Assert.Throws<ArgumentException>(() => new TableReferralStore(options, credential: null));
    }

    [Fact]
    public void Invalid_options_are_refused_at_construction_without_echoing_the_key()
    {
        var options = new TableStorageOptions
        {
            Endpoint = new Uri("http://127.0.0.1:10002/devstoreaccount1"),
            AccountKey = "not base64 but secret-ish",
            TablePrefix = "bad-prefix",
        };

        var failure = Assert.Throws<ArgumentException>(() => new TableReferralStore(options, credential: null));

        Assert.DoesNotContain(options.AccountKey, failure.Message, StringComparison.Ordinal);
        Assert.Equal(3, options.Validate().Count);
    }

    [Fact]
    public void Validation_reports_each_missing_or_unusable_setting()
    {
        Assert.Contains(new TableStorageOptions().Validate(), e => e.Contains("Endpoint is required", StringComparison.Ordinal));
        Assert.Contains(new TableStorageOptions { Endpoint = new Uri("http://acct.table.core.windows.net") }.Validate(),
            e => e.Contains("https", StringComparison.Ordinal));
        Assert.Empty(new TableStorageOptions { Endpoint = new Uri("https://acct.table.core.windows.net") }.Validate());
        Assert.Empty(new TableStorageOptions
        {
            Endpoint = new Uri("http://127.0.0.1:10002/devstoreaccount1"),
            AccountName = AzuriteFixture.AccountName,
            AccountKey = AzuriteFixture.AccountKey,
        }.Validate());
    }

    private sealed record RecordedRequest(string Method, Uri Uri, Dictionary<string, string> Headers, string? ContentType)
    {
        public string? Header(string name) => Headers.GetValueOrDefault(name);
    }

    /// <summary>Answers like an empty service: tables get created, entities are absent, queries are empty.</summary>
    private sealed class RecordingHandler : HttpMessageHandler
    {
        public List<RecordedRequest> Requests { get; } = [];

        public TableClientOptions Options()
        {
            var options = new TableClientOptions { Transport = new HttpClientTransport(this) };
            options.Retry.MaxRetries = 0;
            return options;
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var headers = request.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
            lock (Requests)
            {
                Requests.Add(new RecordedRequest(request.Method.Method, request.RequestUri!, headers,
                    request.Content?.Headers.ContentType?.ToString()));
            }

            var response = request.Method == HttpMethod.Get
                ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("""{"value":[]}""", Encoding.UTF8, "application/json") }
                : new HttpResponseMessage(HttpStatusCode.NoContent);
            response.Headers.ETag = new System.Net.Http.Headers.EntityTagHeaderValue("\"1\"", isWeak: true);
            return Task.FromResult(response);
        }
    }

    private sealed class FixedCredential : TokenCredential
    {
        public List<string> Scopes { get; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            lock (Scopes)
            {
                Scopes.AddRange(requestContext.Scopes);
            }

            return new AccessToken("test-token", DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
