using System.Text;
using ReferralBroker.Referrals;

namespace ReferralBroker.Tests.Domain;

public sealed class ClosedLoopTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private const string Secret = "whsec_test_0123456789abcdef";

    [Fact]
    public void The_webhook_body_and_signature_match_an_independently_computed_vector()
    {
        var body = ClosedLoop.WebhookBody("ref_0123", ClosedLoop.For("ref_0123", Lifecycle.ReferralStatus.Accepted, At));
        Assert.Equal("""{"eventId":"ref_0123.accepted","referralId":"ref_0123","status":"accepted","at":"2026-11-23T12:00:00Z"}""", Encoding.UTF8.GetString(body));
        // python3: hmac.new(secret, b"1795435200." + body, sha256).hexdigest()
        Assert.Equal("t=1795435200,v1=70f25dbaeb5abf2f15b8d641b03653e3117a385bc80306173988d529c8f364b5", ClosedLoop.Sign(Secret, At, body));
    }

    [Fact]
    public void Verification_refuses_a_changed_body_an_old_timestamp_and_another_secret()
    {
        var body = Encoding.UTF8.GetBytes("""{"eventId":"e"}""");
        var header = ClosedLoop.Sign(Secret, At, body);
        var tolerance = TimeSpan.FromMinutes(5);
        Assert.True(ClosedLoop.Verify(Secret, header, body, At.AddMinutes(4), tolerance));
        Assert.False(ClosedLoop.Verify(Secret, header, Encoding.UTF8.GetBytes("""{"eventId":"f"}"""), At, tolerance));
        Assert.False(ClosedLoop.Verify(Secret, header, body, At.AddMinutes(6), tolerance));
        Assert.False(ClosedLoop.Verify("another-secret-0123456789", header, body, At, tolerance));
        // The timestamp is signed: moving it forward breaks the MAC.
        Assert.False(ClosedLoop.Verify(Secret, header.Replace("t=1795435200", "t=1795435500", StringComparison.Ordinal), body, At.AddMinutes(5), tolerance));
        Assert.False(ClosedLoop.Verify(Secret, null, body, At, tolerance));
        Assert.False(ClosedLoop.Verify(Secret, "t=x,v1=zz", body, At, tolerance));
    }

    [Theory]
    [InlineData("https://hooks.example.org/referrals", false, true)]
    [InlineData("http://hooks.example.org/referrals", true, false)]
    [InlineData("http://127.0.0.1:8080/hook", false, false)]
    [InlineData("http://127.0.0.1:8080/hook", true, true)]
    [InlineData("http://[::1]:8080/hook", true, true)]
    [InlineData("https://user:pass@hooks.example.org/", false, false)]
    [InlineData("https://hooks.example.org/#frag", false, false)]
    [InlineData("ftp://hooks.example.org/", true, false)]
    [InlineData("https://127.0.0.1/hook", false, false)]
    [InlineData("https://10.0.0.7/hook", false, false)]
    // Port 0 is no port: nothing could ever be delivered there. Every real port, the highest too, is fine.
    [InlineData("https://hooks.example.org:0/x", false, false)]
    [InlineData("http://127.0.0.1:0/hook", true, false)]
    [InlineData("https://hooks.example.org:1/x", false, true)]
    [InlineData("https://hooks.example.org:65535/x", false, true)]
    [InlineData("https://192.88.99.1/hook", false, false)]
    public void Webhook_urls_are_https_only_with_plain_http_to_loopback_only_when_allowed(string url, bool allowLoopbackHttp, bool acceptable) =>
        Assert.Equal(acceptable, ClosedLoop.IsAcceptableWebhookUrl(new Uri(url), allowLoopbackHttp));

    [Fact]
    public void Retries_back_off_exponentially_up_to_the_cap()
    {
        var policy = new NotificationPolicy();
        Assert.Equal(TimeSpan.FromSeconds(30), policy.RetryAfter(1));
        Assert.Equal(TimeSpan.FromSeconds(60), policy.RetryAfter(2));
        Assert.Equal(TimeSpan.FromMinutes(8), policy.RetryAfter(5));
        Assert.Equal(TimeSpan.FromHours(6), policy.RetryAfter(14));
    }

    [Fact]
    public void Every_transition_records_a_notification_for_the_organisation()
    {
        var record = TransitionsTests.Record(Lifecycle.ReferralStatus.Delivered);
        var next = Transitions.Apply(record, Lifecycle.ReferralEvent.Accept, At, new RetentionPolicy())!;
        var pending = Assert.Single(next.Notifications);
        Assert.Equal($"{record.ReferralId}.accepted", pending.EventId);
        Assert.Equal(At, pending.NextAttemptAt);
        Assert.Equal(At, next.NotifyAt);
    }
}
