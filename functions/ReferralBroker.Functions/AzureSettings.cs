namespace ReferralBroker.Azure;

/// <summary>
/// Every app setting the broker and its Functions host read in Azure. Startup validation checks the app's own
/// list, and a test checks that infra/main.bicep sets exactly these, so the templates cannot drift from the code.
/// </summary>
public static class AzureSettings
{
    public const string PublicBaseUrl = "Broker__PublicBaseUrl";
    public const string Pepper = "Broker__Pepper";
    public const string NetworkJson = "Broker__NetworkJson";
    /// <summary>A hash, not a secret: the coordinator's key itself is never configured.</summary>
    public const string CoordinatorKeySha256 = "Broker__Admin__CoordinatorKeySha256";
    public const string TablesEndpoint = "Broker__Azure__Tables__Endpoint";
    public const string ServiceBusNamespace = "Broker__Azure__ServiceBus__FullyQualifiedNamespace";
    public const string ServiceBusTopic = "Broker__Azure__ServiceBus__TopicName";
    public const string SendGridApiKey = "Broker__Azure__SendGrid__ApiKey";
    public const string SendGridFromEmail = "Broker__Azure__SendGrid__FromEmail";
    /// <summary>The user-assigned managed identity DefaultAzureCredential signs in as.</summary>
    public const string ManagedIdentityClientId = "AZURE_CLIENT_ID";
    /// <summary>Six-field NCRONTAB of the dispatch timers, bound by the Functions host as <c>%DispatchSchedule%</c>.</summary>
    public const string DispatchSchedule = "DispatchSchedule";
    /// <summary>Six-field NCRONTAB of the sweep timer, bound by the Functions host as <c>%SweepSchedule%</c>.</summary>
    public const string SweepSchedule = "SweepSchedule";

    /// <summary>Read by the broker itself.</summary>
    public static readonly IReadOnlyList<string> AppReads =
    [
        PublicBaseUrl, Pepper, NetworkJson, CoordinatorKeySha256, TablesEndpoint, ServiceBusNamespace, ServiceBusTopic,
        SendGridApiKey, SendGridFromEmail, ManagedIdentityClientId,
    ];

    /// <summary>Secrets: in Azure these must be Key Vault references, never literal values.</summary>
    public static readonly IReadOnlyList<string> KeyVaultReferences = [Pepper, SendGridApiKey];

    /// <summary>
    /// Read by the Functions host: its own storage (timer leases), the timer schedules, telemetry. The app receives
    /// from Service Bus itself, so no trigger connection settings.
    /// </summary>
    public static readonly IReadOnlyList<string> HostReads =
    [
        "AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId",
        DispatchSchedule, SweepSchedule,
        "APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    ];
}
