using Azure.Core;
using Microsoft.Extensions.Logging.Abstractions;
using ReferralBroker.Azure.ServiceBus;

namespace ReferralBroker.Azure.Tests.ServiceBus;

public sealed class ServiceBusOptionsTests
{
    [Fact]
    public void Connection_string_gives_https_endpoint_sas_key_with_its_padding_and_topic()
    {
        var options = ServiceBusOptions.FromConnectionString(
            "Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=send-only;SharedAccessKey=abc+/def==;EntityPath=referrals-test");

        Assert.Equal(new Uri("https://contoso.servicebus.windows.net/"), options.Endpoint);
        Assert.Equal("send-only", options.SasKeyName);
        Assert.Equal("abc+/def==", options.SasKey);
        Assert.Equal("referrals-test", options.TopicName);
        Assert.Equal("https://contoso.servicebus.windows.net", options.ResolveBaseAddress());
    }

    [Fact]
    public void Connection_string_errors_never_quote_the_key()
    {
        var ex = Assert.Throws<FormatException>(() =>
            ServiceBusOptions.FromConnectionString("SharedAccessKeyName=send-only;SharedAccessKey=TOP-SECRET-KEY"));

        Assert.DoesNotContain("TOP-SECRET-KEY", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_never_print_the_key()
    {
        var options = new ServiceBusOptions { SasKeyName = "k", SasKey = "TOP-SECRET-KEY" };

        Assert.DoesNotContain("TOP-SECRET-KEY", options.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("contoso.servicebus.windows.net")]
    [InlineData("sb://contoso.servicebus.windows.net/")]
    public void Namespace_name_resolves_to_an_https_base_address(string fullyQualifiedNamespace)
    {
        var options = new ServiceBusOptions { FullyQualifiedNamespace = fullyQualifiedNamespace };

        Assert.Equal("https://contoso.servicebus.windows.net", options.ResolveBaseAddress());
    }

    [Fact]
    public void Plain_http_to_a_real_host_is_refused_because_credentials_and_secrets_would_travel_in_clear()
    {
        var options = new ServiceBusOptions { Endpoint = new Uri("http://contoso.servicebus.windows.net/"), SasKeyName = "k", SasKey = "v" };

        Assert.Throws<ArgumentException>(() => NewQueue(options));
    }

    [Fact]
    public void Queue_without_sas_key_or_token_credential_is_refused()
    {
        var options = new ServiceBusOptions { FullyQualifiedNamespace = "contoso.servicebus.windows.net" };

        Assert.Throws<ArgumentException>(() => NewQueue(options));
    }

    [Fact]
    public void Queue_refuses_client_options_that_log_message_content()
    {
        var options = new ServiceBusOptions { FullyQualifiedNamespace = "contoso.servicebus.windows.net", SasKeyName = "k", SasKey = "v" };
        var clientOptions = new ServiceBusClientOptions { Diagnostics = { IsLoggingContentEnabled = true } };

        Assert.Throws<ArgumentException>(() => NewQueue(options, clientOptions));
    }

    private static ServiceBusReferralQueue NewQueue(ServiceBusOptions options, ServiceBusClientOptions? clientOptions = null) =>
        new(options, credential: null, TimeProvider.System, NullLogger<ServiceBusReferralQueue>.Instance, clientOptions);
}
