using System.Text.Json;
using Azure;
using ReferralBroker.Azure.ServiceBus;
using ReferralBroker.Ports;

namespace ReferralBroker.Azure.Tests.ServiceBus;

public sealed class ServiceBusReferralQueueTests
{
    private const string KeyName = "broker-send";
    private const string Key = "c2VjcmV0LXNhcy1rZXktZm9yLXRlc3Rz";
    private const string LinkSecret = "LINK-SECRET-MARKER-3f9a";

    private static readonly DispatchMessage Message = new("ref-42", "ref-42", "partner-7", "legal", LinkSecret);

    [Fact]
    public async Task Send_posts_to_the_topic_with_a_valid_sas_broker_properties_filter_headers_and_the_message_body()
    {
        using var stub = HttpStub.Start(request => new StubResponse(Authorised(request) ? 201 : 401));
        var logger = new ListLogger<ServiceBusReferralQueue>();

        await NewQueue(stub, Key, logger).EnqueueAsync(Message, CancellationToken.None);

        var request = Assert.Single(stub.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/referrals/messages", request.Path);
        Assert.True(SasVerifier.IsValid(request.Header("Authorization"), ResourceOf(stub), KeyName, Key, DateTimeOffset.UtcNow));
        Assert.StartsWith("application/json", request.Header("Content-Type"), StringComparison.Ordinal);

        using var brokerProperties = JsonDocument.Parse(request.Header("BrokerProperties")!);
        Assert.Equal("ref-42", brokerProperties.RootElement.GetProperty("MessageId").GetString());
        Assert.Equal(86400, brokerProperties.RootElement.GetProperty("TimeToLive").GetInt64());
        Assert.Equal("application/json", brokerProperties.RootElement.GetProperty("ContentType").GetString());

        // Quoted, so the subscriptions' SQL filters (category = 'legal') compare strings.
        Assert.Equal("\"legal\"", request.Header("category"));
        Assert.Equal("\"partner-7\"", request.Header("partnerId"));
        Assert.Equal("\"ref-42\"", request.Header("referralId"));

        Assert.Equal(Message, DispatchMessageJson.Deserialize(request.Body));
        Assert.DoesNotContain(LinkSecret, logger.All, StringComparison.Ordinal);
        Assert.Contains("ref-42", logger.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_sas_key_is_refused_by_the_service_with_401_and_is_not_retried()
    {
        using var stub = HttpStub.Start(request => new StubResponse(Authorised(request) ? 201 : 401));
        var logger = new ListLogger<ServiceBusReferralQueue>();

        var ex = await Assert.ThrowsAsync<RequestFailedException>(
            () => NewQueue(stub, "not-the-key", logger).EnqueueAsync(Message, CancellationToken.None));

        Assert.Equal(401, ex.Status);
        Assert.Single(stub.Requests);
        Assert.DoesNotContain(LinkSecret, logger.All + ex, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(403)]
    [InlineData(410)]
    public async Task Service_refusal_throws_request_failed_with_its_status_without_retrying(int status)
    {
        using var stub = HttpStub.Start(_ => new StubResponse(status, "<Error><Detail>service text</Detail></Error>"u8.ToArray()));

        var ex = await Assert.ThrowsAsync<RequestFailedException>(
            () => NewQueue(stub, Key).EnqueueAsync(Message, CancellationToken.None));

        Assert.Equal(status, ex.Status);
        Assert.Single(stub.Requests);
    }

    [Fact]
    public async Task Server_busy_503_is_retried_by_the_pipeline_and_the_send_then_succeeds()
    {
        var calls = 0;
        using var stub = HttpStub.Start(request =>
            !Authorised(request) ? new StubResponse(401) : new StubResponse(Interlocked.Increment(ref calls) == 1 ? 503 : 201));

        await NewQueue(stub, Key).EnqueueAsync(Message, CancellationToken.None);

        Assert.Equal(2, stub.Requests.Count);
        Assert.All(stub.Requests, r => Assert.Equal(Message, DispatchMessageJson.Deserialize(r.Body)));
        Assert.All(stub.Requests, r => Assert.Equal(stub.Requests[0].Header("BrokerProperties"), r.Header("BrokerProperties")));
    }

    [Fact]
    public async Task Throttling_that_outlasts_every_retry_throws_request_failed_429()
    {
        using var stub = HttpStub.Start(_ => new StubResponse(429));

        var ex = await Assert.ThrowsAsync<RequestFailedException>(
            () => NewQueue(stub, Key).EnqueueAsync(Message, CancellationToken.None));

        Assert.Equal(429, ex.Status);
        Assert.Equal(1 + 3, stub.Requests.Count);
    }

    [Fact]
    public async Task Unreachable_service_throws_request_failed_after_retries()
    {
        var stub = HttpStub.Start(_ => new StubResponse(201));
        var queue = NewQueue(stub, Key);
        stub.Dispose();

        var ex = await Assert.ThrowsAsync<RequestFailedException>(() => queue.EnqueueAsync(Message, CancellationToken.None));

        Assert.Equal(0, ex.Status);
    }

    internal static bool Authorised(StubRequest request) =>
        SasVerifier.IsValid(request.Header("Authorization"), $"http://{request.Header("Host")}/referrals", KeyName, Key, DateTimeOffset.UtcNow);

    private static string ResourceOf(HttpStub stub) => $"{stub.BaseUri.AbsoluteUri.TrimEnd('/')}/referrals";

    private static ServiceBusReferralQueue NewQueue(HttpStub stub, string key, ListLogger<ServiceBusReferralQueue>? logger = null) =>
        new(
            new ServiceBusOptions { Endpoint = stub.BaseUri, SasKeyName = KeyName, SasKey = key },
            credential: null,
            TimeProvider.System,
            logger ?? new ListLogger<ServiceBusReferralQueue>(),
            TestClientOptions());

    internal static ServiceBusClientOptions TestClientOptions() =>
        new() { Retry = { Delay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(5), MaxRetries = 3 } };
}
