using Microsoft.Extensions.Time.Testing;
using ReferralBroker.Azure.ServiceBus;

namespace ReferralBroker.Azure.Tests.ServiceBus;

public sealed class SasTokenPolicyTests
{
    private const string Resource = "https://contoso.servicebus.windows.net/referrals";
    private const string KeyName = "RootManageSharedAccessKey";
    // Valid base64 on purpose: Service Bus signs with the UTF-8 bytes of the key as shown, not the decoded bytes.
    private const string Key = "Zm9vYmFyLWtleS1ub3QtYmFzZTY0LWRlY29kZWQ=";

    [Fact]
    public void Token_matches_a_vector_computed_independently_from_the_documented_algorithm()
    {
        // Computed outside .NET: sr = quote(uri, safe=''), sig = b64(HMAC-SHA256(utf8(key), sr + "\n" + se)), URL-encoded.
        const string expected = "SharedAccessSignature sr=https%3A%2F%2Fcontoso.servicebus.windows.net%2Freferrals"
            + "&sig=Jisstx9tc5fosWHALuCZ4pitvzFFEq94WRRIOAajKrY%3D&se=1767225600&skn=RootManageSharedAccessKey";

        Assert.Equal(expected, SasTokenPolicy.Create(Resource, KeyName, Key, 1767225600));
    }

    [Fact]
    public void Token_expires_one_lifetime_after_now_and_verifies_like_the_service_would()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var policy = new SasTokenPolicy(Resource, KeyName, Key, time, TimeSpan.FromHours(1));

        var token = policy.CurrentToken();

        Assert.Contains($"&se={time.GetUtcNow().AddHours(1).ToUnixTimeSeconds()}&", token, StringComparison.Ordinal);
        Assert.True(SasVerifier.IsValid(token, Resource, KeyName, Key, time.GetUtcNow()));
        Assert.False(SasVerifier.IsValid(token, Resource, KeyName, "another-key", time.GetUtcNow()));
    }

    [Fact]
    public void Token_is_reused_until_five_minutes_before_expiry_then_renewed()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var policy = new SasTokenPolicy(Resource, KeyName, Key, time, TimeSpan.FromHours(1));

        var first = policy.CurrentToken();
        time.Advance(TimeSpan.FromMinutes(54));
        var stillCached = policy.CurrentToken();
        time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        var renewed = policy.CurrentToken();

        Assert.Same(first, stillCached);
        Assert.NotEqual(first, renewed);
        Assert.True(SasVerifier.IsValid(renewed, Resource, KeyName, Key, time.GetUtcNow().AddMinutes(50)));
    }
}
