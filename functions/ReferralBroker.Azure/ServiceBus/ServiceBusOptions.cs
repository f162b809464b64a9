using Azure.Core;
using Azure.Messaging.ServiceBus;

namespace ReferralBroker.Azure.ServiceBus;

/// <summary>
/// Where and how the broker reaches its Service Bus topic (section <c>Broker:Azure:ServiceBus</c>). A class, not a
/// record: a record's generated ToString would print <see cref="ConnectionString"/> into any log that formats it.
/// </summary>
public sealed class ServiceBusOptions
{
    /// <summary>The namespace host, e.g. <c>contoso.servicebus.windows.net</c>, reached with an Entra ID credential.</summary>
    public string? FullyQualifiedNamespace { get; set; }

    /// <summary>
    /// For tests against the fake broker only: overrides <see cref="FullyQualifiedNamespace"/>. The namespace in Azure
    /// refuses shared keys (<c>disableLocalAuth</c>), so a production connection string could not work anyway.
    /// </summary>
    public string? ConnectionString { get; set; }

    public string TopicName { get; set; } = "referrals";

    /// <summary>
    /// Short on purpose: a dispatch message carries the link secret until it is dispatched, and the dead-letter
    /// purger uses the same span to decide which dead letters have been kept long enough.
    /// </summary>
    public TimeSpan MessageTimeToLive { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// How long a message may wait for its referral's record (intake sends before it stores) before it is dropped as
    /// the message of a request that failed. Longer than any request can take; short, because it holds a link secret.
    /// </summary>
    public TimeSpan UnstoredReferralGrace { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Upper bound on the messages one drain of a subscription handles.</summary>
    public int MaxMessagesPerDrain { get; set; } = 100;

    /// <summary>No new batch is received once a drain has run this long (a started batch is finished).</summary>
    public TimeSpan MaxDrainDuration { get; set; } = TimeSpan.FromSeconds(60);

    public int ReceiveBatchSize { get; set; } = 10;

    /// <summary>How long a receive waits on an empty subscription before the drain ends.</summary>
    public TimeSpan ReceiveWaitTime { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a receive waits on an empty dead-letter sub-queue before the purge moves on.</summary>
    public TimeSpan DeadLetterReceiveTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Upper bound per subscription and purge run, so one run can't spin on a huge dead-letter queue.</summary>
    public int MaxDeadLettersPerRun { get; set; } = 500;

    /// <summary>The SDK's retries of one operation (send, receive, complete) before the broker's code sees the failure.</summary>
    public int MaxRetries { get; set; } = 3;

    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(0.8);

    /// <summary>Subscription name for each category wire name; each subscription's SQL filter matches <c>category</c>.</summary>
    public IDictionary<string, string> Subscriptions { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["health"] = "health",
        ["legal"] = "legal",
        ["employment"] = "employment",
    };

    /// <summary>
    /// Takes every category without a subscription of its own (the coordinator may add categories at any time), so
    /// that no referral is left in a topic nobody reads.
    /// </summary>
    public string OtherCategoriesSubscription { get; set; } = "other";

    /// <summary>The SQL filter of <see cref="OtherCategoriesSubscription"/>: the complement of the per-category ones.</summary>
    public string OtherCategoriesFilter =>
        $"category NOT IN ({string.Join(", ", Subscriptions.Keys.Order(StringComparer.Ordinal).Select(c => $"'{c}'"))})";

    /// <summary>Every subscription the broker's messages can land in.</summary>
    public IEnumerable<string> AllSubscriptions => Subscriptions.Values.Append(OtherCategoriesSubscription).Distinct(StringComparer.Ordinal);

    /// <summary>What is wrong, naming settings and never a value (the connection string holds a key).</summary>
    public IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        const string Prefix = "Broker:Azure:ServiceBus:";
        if (string.IsNullOrWhiteSpace(ConnectionString) && string.IsNullOrWhiteSpace(FullyQualifiedNamespace))
        {
            failures.Add($"{Prefix}FullyQualifiedNamespace is required.");
        }

        if (string.IsNullOrWhiteSpace(TopicName))
        {
            failures.Add($"{Prefix}TopicName is required.");
        }

        if (MessageTimeToLive <= TimeSpan.Zero)
        {
            failures.Add($"{Prefix}MessageTimeToLive must be positive.");
        }

        if (UnstoredReferralGrace <= TimeSpan.Zero || UnstoredReferralGrace >= MessageTimeToLive)
        {
            failures.Add($"{Prefix}UnstoredReferralGrace must be positive and shorter than MessageTimeToLive.");
        }

        if (MaxMessagesPerDrain < 1 || ReceiveBatchSize < 1 || MaxDeadLettersPerRun < 1)
        {
            failures.Add($"{Prefix}MaxMessagesPerDrain, ReceiveBatchSize and MaxDeadLettersPerRun must be at least 1.");
        }

        if (MaxDrainDuration <= TimeSpan.Zero || ReceiveWaitTime <= TimeSpan.Zero || DeadLetterReceiveTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{Prefix}MaxDrainDuration, ReceiveWaitTime and DeadLetterReceiveTimeout must be positive.");
        }

        if (MaxRetries < 0 || RetryDelay < TimeSpan.Zero)
        {
            failures.Add($"{Prefix}MaxRetries and RetryDelay must not be negative.");
        }

        if (Subscriptions.Count == 0 || string.IsNullOrWhiteSpace(OtherCategoriesSubscription))
        {
            failures.Add($"{Prefix}Subscriptions and OtherCategoriesSubscription are required.");
        }

        return failures;
    }

    /// <summary>
    /// The one client of the process (an AMQP connection that every sender and receiver shares). Entra ID in Azure;
    /// a connection string only for the tests' fake broker.
    /// </summary>
    public ServiceBusClient CreateClient(TokenCredential? credential)
    {
        if (Validate() is { Count: > 0 } failures)
        {
            throw new ArgumentException(string.Join(" ", failures));
        }

        var clientOptions = new ServiceBusClientOptions
        {
            RetryOptions = new ServiceBusRetryOptions { MaxRetries = MaxRetries, Delay = RetryDelay, Mode = ServiceBusRetryMode.Exponential },
        };
        if (!string.IsNullOrWhiteSpace(ConnectionString))
        {
            return new ServiceBusClient(ConnectionString, clientOptions);
        }

        return new ServiceBusClient(FullyQualifiedNamespace, credential
            ?? throw new ArgumentException("Service Bus needs a TokenCredential when no connection string is set.", nameof(credential)), clientOptions);
    }
}
