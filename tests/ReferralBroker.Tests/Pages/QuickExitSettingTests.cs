using ReferralBroker.Hosting;

namespace ReferralBroker.Tests.Pages;

/// <summary>The quick exit must take the client away from here, to an ordinary site: the broker refuses to start otherwise.</summary>
public sealed class QuickExitSettingTests
{
    [Theory]
    [InlineData("javascript:alert(1)")]
    [InlineData("/status")]
    [InlineData("www.wikipedia.org")]
    [InlineData("ftp://example.org/")]
    [InlineData("https://user:secret@example.org/")]
    public void A_quick_exit_address_that_is_not_an_ordinary_web_address_is_refused(string url)
    {
        var result = new BrokerOptionsValidator().Validate(null, new BrokerOptions { QuickExitUrl = url });

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, failure => failure.StartsWith("Broker:QuickExitUrl", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("https://www.wikipedia.org/")]
    [InlineData("https://www.bbc.com/weather")]
    public void An_ordinary_web_address_is_accepted(string url) =>
        Assert.True(new BrokerOptionsValidator().Validate(null, new BrokerOptions { QuickExitUrl = url }).Succeeded);
}
