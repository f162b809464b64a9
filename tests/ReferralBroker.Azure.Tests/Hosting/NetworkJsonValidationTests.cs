using Microsoft.Extensions.Configuration;
using ReferralBroker.Hosting;

namespace ReferralBroker.Azure.Tests.Hosting;

public sealed class NetworkJsonValidationTests
{
    private static List<string> Failures(string networkJson) =>
        new AzureSettingsValidator(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Broker:NetworkJson"] = networkJson }).Build())
            .Validate(null, new BrokerOptions { Pepper = Convert.ToBase64String(new byte[32]) }).Failures?.ToList() ?? [];

    [Fact]
    public void An_address_in_the_network_setting_that_is_a_list_stops_the_start_naming_the_entry()
    {
        var failures = Failures("""
            {"organisations":[{"id":"org-a","name":"A","apiKeySha256":"","notificationEmail":"a@b>,<spy@evil.example"}],
             "partners":[{"id":"clinic-a","name":"Clinic","email":"Clinic <intake@clinic.example>","categories":["health"]}]}
            """);
        Assert.Contains(failures, f => f.Contains("Broker__NetworkJson", StringComparison.Ordinal) && f.Contains("'org-a' notificationEmail", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("Broker__NetworkJson", StringComparison.Ordinal) && f.Contains("'clinic-a' email", StringComparison.Ordinal));
    }

    [Fact]
    public void Plain_addresses_in_the_network_setting_pass()
    {
        var failures = Failures("""{"partners":[{"id":"clinic-a","name":"Clinic","email":"intake@clinic.example","categories":["health"]}]}""");
        Assert.DoesNotContain(failures, f => f.Contains("Broker__NetworkJson", StringComparison.Ordinal));
    }
}
