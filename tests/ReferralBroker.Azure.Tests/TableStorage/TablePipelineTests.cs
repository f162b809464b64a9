using System.Net;
using System.Security.Cryptography;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;
using ReferralBroker.Azure.TableStorage;

namespace ReferralBroker.Azure.Tests.TableStorage;

/// <summary>What goes on the wire, checked offline against a recording transport.</summary>
public sealed class TablePipelineTests
{
    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public void The_canonicalized_resource_names_the_account_then_the_path_as_sent()
    {
        Assert.Equal("/devstoreaccount1/devstoreaccount1/t(PartitionKey='a%27%27b',RowKey='r')",
            SharedKeyPolicy.CanonicalizedResource("devstoreaccount1",
                new Uri("http://127.0.0.1:10002/devstoreaccount1/t(PartitionKey='a%27%27b',RowKey='r')")));
        Assert.Equal("/acct/orders()",
            SharedKeyPolicy.CanonicalizedResource("acct", new Uri("https://acct.table.core.windows.net/orders()?$filter=x%20eq%201&NextPartitionKey=a")));
        Assert.Equal("/acct/?comp=properties",
            SharedKeyPolicy.CanonicalizedResource("acct", new Uri("https://acct.table.core.windows.net/?restype=service&comp=properties")));
    }

    [Fact]
    public void The_string_to_sign_is_verb_md5_content_type_date_and_resource_on_separate_lines()
    {
        Assert.Equal("PUT\n\napplication/json\nSun, 22 Nov 2026 11:59:16 GMT\n/a/t",
            SharedKeyPolicy.StringToSign("PUT", null, "application/json", "Sun, 22 Nov 2026 11:59:16 GMT", "/a/t"));
    }

    [Fact]
    public async Task SharedKey_requests_carry_the_protocol_headers_and_a_signature_over_what_is_actually_sent()
    {
        var transport = new RecordingHandler();
        var key = RandomNumberGenerator.GetBytes(64);
        var store = new TableReferralStore(
            new TableStorageOptions
            {
                Endpoint = new Uri("http://127.0.0.1:10002/devstoreaccount1"),
                AccountName = "devstoreaccount1",
                AccountKey = Convert.ToBase64String(key),
            },
            credential: null,
            transport.Options());

        await store.TryCreateAsync(Records.Submitted(), Ct);

        Assert.NotEmpty(transport.Requests);
        foreach (var request in transport.Requests)
        {
            Assert.Equal("2019-02-02", request.Header("x-ms-version"));
            Assert.Equal("3.0", request.Header("DataServiceVersion"));
            // HttpClient re-spaces Accept; the header is not signed, so that is harmless.
            Assert.StartsWith("application/json;odata=", request.Header("Accept")!.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
            var date = request.Header("x-ms-date")!;
            var stringToSign = string.Join('\n', request.Method, "", request.ContentType ?? "", date,
                "/devstoreaccount1" + request.Uri.AbsolutePath);
            var expected = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
            Assert.Equal($"SharedKey devstoreaccount1:{expected}", request.Header("Authorization"));
        }

        Assert.Contains(transport.Requests, r => r.Method == "POST" && r.ContentType == "application/json");
    }

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
        Assert.Contains("ExpiresAt%20le%20datetime", transport.Requests[1].Uri.Query, StringComparison.Ordinal);
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

        public TableStorageClientOptions Options()
        {
            var options = new TableStorageClientOptions { Transport = new HttpClientTransport(this) };
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
