using Azure.Core;

namespace ReferralBroker.Azure.ServiceBus;

/// <summary>
/// Where and how the broker reaches its Service Bus topic. A class, not a record: a record's generated ToString
/// would print <see cref="SasKey"/> into any log that formats the options.
/// </summary>
public sealed class ServiceBusOptions
{
    /// <summary>The namespace host, e.g. <c>contoso.servicebus.windows.net</c>; used when <see cref="Endpoint"/> is not set.</summary>
    public string? FullyQualifiedNamespace { get; set; }

    /// <summary>Overrides <see cref="FullyQualifiedNamespace"/>; plain http is accepted only for a loopback address (test stubs).</summary>
    public Uri? Endpoint { get; set; }

    public string TopicName { get; set; } = "referrals";

    /// <summary>With <see cref="SasKey"/>: shared access signature auth. Without: Entra ID bearer tokens.</summary>
    public string? SasKeyName { get; set; }

    public string? SasKey { get; set; }

    public TimeSpan SasTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Short on purpose: a dispatch message carries the link secret until it is dispatched, and the dead-letter
    /// purger uses the same span to decide which dead letters have been kept long enough.
    /// </summary>
    public TimeSpan MessageTimeToLive { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How long one dead-letter receive may long-poll an empty sub-queue before Service Bus answers 204.</summary>
    public TimeSpan DeadLetterReceiveTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Upper bound per subscription and purge run, so one run can't spin on a huge dead-letter queue.</summary>
    public int MaxDeadLettersPerRun { get; set; } = 500;

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

    internal bool UsesSas => !string.IsNullOrEmpty(SasKey);

    /// <summary>
    /// Reads <c>Endpoint=sb://…/;SharedAccessKeyName=…;SharedAccessKey=…[;EntityPath=…]</c>. Error messages name the
    /// missing part only, never a value, because the string holds the key.
    /// </summary>
    public static ServiceBusOptions FromConnectionString(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var parts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var segment in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // The key is base64 and may end in '=', so only the first '=' separates name and value.
            var equals = segment.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException("The Service Bus connection string has a part that is not name=value.");
            }

            parts[segment[..equals].Trim()] = segment[(equals + 1)..].Trim();
        }

        if (!parts.TryGetValue("Endpoint", out var endpointText)
            || !Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint))
        {
            throw new FormatException("The Service Bus connection string has no valid Endpoint.");
        }

        if (!parts.TryGetValue("SharedAccessKeyName", out var keyName) || keyName.Length == 0
            || !parts.TryGetValue("SharedAccessKey", out var key) || key.Length == 0)
        {
            throw new FormatException("The Service Bus connection string needs SharedAccessKeyName and SharedAccessKey.");
        }

        var options = new ServiceBusOptions
        {
            // The AMQP form names the namespace; the REST protocol speaks https to the same host.
            Endpoint = endpoint.Scheme == "sb" ? new UriBuilder(endpoint) { Scheme = Uri.UriSchemeHttps, Port = -1 }.Uri : endpoint,
            SasKeyName = keyName,
            SasKey = key,
        };
        if (parts.TryGetValue("EntityPath", out var entityPath) && entityPath.Length > 0)
        {
            options.TopicName = entityPath;
        }

        return options;
    }

    /// <summary>The base address without a trailing slash.</summary>
    internal string ResolveBaseAddress()
    {
        Uri endpoint;
        if (Endpoint is not null)
        {
            endpoint = Endpoint;
        }
        else if (!string.IsNullOrWhiteSpace(FullyQualifiedNamespace))
        {
            var host = FullyQualifiedNamespace.Trim();
            if (host.Contains("://", StringComparison.Ordinal) && Uri.TryCreate(host, UriKind.Absolute, out var parsed))
            {
                host = parsed.Host;
            }

            endpoint = new Uri($"https://{host.TrimEnd('/')}/");
        }
        else
        {
            throw new ArgumentException("ServiceBusOptions needs FullyQualifiedNamespace or Endpoint.");
        }

        if (endpoint.Scheme == "sb")
        {
            endpoint = new UriBuilder(endpoint) { Scheme = Uri.UriSchemeHttps, Port = -1 }.Uri;
        }

        // Every request carries a credential (and a send carries a link secret): never over plain http to a real host.
        if (endpoint.Scheme != Uri.UriSchemeHttps && !(endpoint.Scheme == Uri.UriSchemeHttp && endpoint.IsLoopback))
        {
            throw new ArgumentException("The Service Bus endpoint must use https (plain http only to a loopback address).");
        }

        if (string.IsNullOrWhiteSpace(TopicName))
        {
            throw new ArgumentException("ServiceBusOptions.TopicName is required.");
        }

        return endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/');
    }
}

/// <summary>
/// Pipeline settings (retries, transport, diagnostics) for the Service Bus clients. Azure.Core's default logging
/// already redacts headers such as Authorization and BrokerProperties; content logging must stay off because
/// message bodies carry link secrets, and the clients refuse options that turn it on.
/// </summary>
public sealed class ServiceBusClientOptions : ClientOptions
{
}
