using System.Text;
using ReferralBroker.Notifications;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;

namespace ReferralBroker.Tests.Domain;

public sealed class ClosedLoopTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private const string Secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    private const string OtherSecret = "whsec_ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7";

    [Fact]
    public void The_webhook_body_and_its_standard_webhooks_signature_match_an_independently_computed_vector()
    {
        var body = ClosedLoop.WebhookBody("ref_0123", ClosedLoop.For("ref_0123", Lifecycle.ReferralStatus.Accepted, At));
        Assert.Equal("""{"eventId":"ref_0123.accepted","referralId":"ref_0123","status":"accepted","at":"2026-11-23T12:00:00Z"}""", Encoding.UTF8.GetString(body));
        // python3: "v1," + b64encode(hmac.new(b64decode(secret[6:]), b"ref_0123.accepted.1795435200." + body, sha256).digest())
        var delivery = new WebhookDelivery(new Uri("https://hooks.example.org/x"), body, "ref_0123.accepted", [Secret]);
        Assert.Equal("v1,op6qe+DrAso5aQW8VAfzD7ioYa6SH3IVAqS62iAiwUM=", HttpWebhookSender.Sign(delivery, At));
    }

    [Fact]
    public void During_an_overlap_the_signature_header_carries_one_signature_per_secret_newest_first_space_delimited()
    {
        var body = ClosedLoop.WebhookBody("ref_0123", ClosedLoop.For("ref_0123", Lifecycle.ReferralStatus.Accepted, At));
        var delivery = new WebhookDelivery(new Uri("https://hooks.example.org/x"), body, "ref_0123.accepted", [Secret, OtherSecret]);
        Assert.Equal("v1,op6qe+DrAso5aQW8VAfzD7ioYa6SH3IVAqS62iAiwUM= v1,Wq2UaW6DisuszMW30aTEGUKv0s2uD2kKnBaTY/n6C+M=", HttpWebhookSender.Sign(delivery, At));
    }

    [Theory]
    [InlineData("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", true)] // 32 bytes
    [InlineData("whsec_ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7", true)] // 24 bytes, the least the specification recommends
    [InlineData("whsec_ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo=", false)] // 23 bytes
    [InlineData("whsec_test_0123456789abcdef", false)] // the old form: not base64
    [InlineData("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", false)] // no prefix
    [InlineData("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd Hh8=", false)] // whitespace
    [InlineData("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", false)] // padding missing
    [InlineData("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh_-", false)] // URL-safe alphabet
    public void A_webhook_secret_is_whsec_and_the_base64_of_24_to_64_bytes(string secret, bool valid) =>
        Assert.Equal(valid, WebhookSecrets.IsValid(secret));

    [Fact]
    public void A_generated_secret_is_in_the_form_random_and_of_32_bytes()
    {
        var a = WebhookSecrets.Generate();
        Assert.True(WebhookSecrets.IsValid(a));
        Assert.Equal(32, WebhookSecrets.Key(a)!.Length);
        Assert.NotEqual(a, WebhookSecrets.Generate());
        Assert.Equal(WebhookSecrets.MaxBytes, WebhookSecrets.Key(WebhookSecrets.Prefix + Convert.ToBase64String(new byte[64]))!.Length);
        Assert.Null(WebhookSecrets.Key(WebhookSecrets.Prefix + Convert.ToBase64String(new byte[65])));
    }

    [Fact]
    public void A_replaced_secret_signs_second_until_the_overlap_ends_and_no_secret_removes_both()
    {
        var overlap = TimeSpan.FromHours(24);
        var before = new OrganisationNotifications(null, new Uri("https://hooks.example.org/x"), Secret);
        var rotated = WebhookSecrets.Carry(before with { WebhookSecret = OtherSecret }, before, At, overlap);
        Assert.Equal(new RetiringWebhookSecret(Secret, At + overlap), rotated.PreviousWebhookSecret);
        Assert.Equal([OtherSecret, Secret], rotated.SigningSecrets(At + overlap - TimeSpan.FromSeconds(1)));
        Assert.Equal([OtherSecret], rotated.SigningSecrets(At + overlap));

        // Saving the same secret again (an edit of the email) keeps the overlap as it was, and ends it once it is over.
        Assert.Equal(rotated, WebhookSecrets.Carry(rotated with { PreviousWebhookSecret = null }, rotated, At.AddHours(1), overlap));
        Assert.Null(WebhookSecrets.Carry(rotated with { PreviousWebhookSecret = null }, rotated, At + overlap, overlap).PreviousWebhookSecret);

        var removed = WebhookSecrets.Carry(rotated with { WebhookSecret = null }, rotated, At.AddHours(1), overlap);
        Assert.Null(removed.PreviousWebhookSecret);
        Assert.Empty(removed.SigningSecrets(At.AddHours(1)));
        Assert.Null(WebhookSecrets.Carry(before with { WebhookSecret = OtherSecret }, before, At, TimeSpan.Zero).PreviousWebhookSecret);
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
