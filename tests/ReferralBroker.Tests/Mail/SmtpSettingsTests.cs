using ReferralBroker.Hosting;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Tests.Mail;

/// <summary>Mail settings that would send the link secret in clear, to the wrong place or not at all stop the start, naming the setting.</summary>
public sealed class SmtpSettingsTests
{
    private static BrokerOptions Smtp(Action<SmtpOptions> change, string from = "referrals@broker.example.org")
    {
        var options = new BrokerOptions { Mail = { From = from, Smtp = { Host = "smtp.example.org" } } };
        change(options.Mail.Smtp);
        return options;
    }

    public static TheoryData<string, BrokerOptions> Refused => new()
    {
        { "Broker:Mail:Smtp:Port", Smtp(s => s.Port = 0) },
        { "Broker:Mail:Smtp:Port", Smtp(s => s.Port = 65536) },
        { "Broker:Mail:Smtp:Security None", Smtp(s => s.Security = SmtpSecurity.None) },
        { "Broker:Mail:Smtp:Security None", Smtp(s => (s.Host, s.Security) = ("10.0.0.25", SmtpSecurity.None)) },
        { "Broker:Mail:Smtp:Security None", Smtp(s => (s.Host, s.Security) = ("localhost.evil.example", SmtpSecurity.None)) },
        { "Broker:Mail:Smtp:UserName and Broker:Mail:Smtp:Password", Smtp(s => s.UserName = "broker") },
        { "Broker:Mail:Smtp:UserName and Broker:Mail:Smtp:Password", Smtp(s => s.Password = "secret-password") },
        { "Broker:Mail:Smtp:CertificateSha256", Smtp(s => s.CertificateSha256 = "not-hex") },
        { "Broker:Mail:Smtp:CertificateSha256", Smtp(s => s.CertificateSha256 = "abcd") },
        { "Broker:Mail:Smtp:Timeout", Smtp(s => s.Timeout = TimeSpan.Zero) },
        { "Broker:Mail:Smtp:MaxConnections", Smtp(s => s.MaxConnections = 0) },
        { "Broker:Mail:Smtp:Host", Smtp(s => s.Host = "smtp example org") },
        { "Broker:Mail:From", Smtp(_ => { }, from: "a@b.example>,<spy@evil.example") },
        { "Broker:Mail:From", Smtp(_ => { }, from: "ReferralBroker <referrals@broker.example.org>") },
        { "Broker:Mail:From", Smtp(_ => { }, from: "referrals@broker.example.org, spy@evil.example") },
        { "Broker:Mail:From", Smtp(_ => { }, from: "referrals@broker.example.org\r\nBcc: spy@evil.example") },
        { "Broker:Mail:From", Smtp(_ => { }, from: "not-an-address") },
        { "Broker:Mail:From", Smtp(_ => { }, from: "") },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void A_mail_setting_that_cannot_work_safely_is_refused_naming_it(string setting, BrokerOptions options)
    {
        var result = new BrokerOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, failure => failure.StartsWith(setting, StringComparison.Ordinal));
        Assert.DoesNotContain(result.Failures!, failure => failure.Contains("secret-password", StringComparison.Ordinal));
    }

    public static TheoryData<BrokerOptions> Accepted => new()
    {
        Smtp(s => (s.Port, s.UserName, s.Password) = (587, "broker", "secret-password")),
        Smtp(s => (s.Security, s.CertificateSha256) = (SmtpSecurity.Tls, string.Join(':', Enumerable.Repeat("AB", 32)))),
        Smtp(s => (s.Host, s.Security) = ("localhost", SmtpSecurity.None)),
        Smtp(s => (s.Host, s.Security) = ("127.0.0.1", SmtpSecurity.None)),
        Smtp(s => (s.Host, s.Security) = ("::1", SmtpSecurity.None)),
        new BrokerOptions(),
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void Workable_mail_settings_are_accepted(BrokerOptions options)
    {
        var result = new BrokerOptionsValidator().Validate(null, options);
        Assert.True(result.Succeeded, string.Join("; ", result.Failures ?? []));
    }

    [Fact]
    public void The_broker_does_not_start_with_plain_SMTP_to_another_machine()
    {
        var failure = Coordinator.StartupFailure(new Dictionary<string, string?>
        {
            ["Broker:Mail:Smtp:Host"] = "smtp.example.org",
            ["Broker:Mail:Smtp:Security"] = "None",
        });

        Assert.Contains(failure.Failures, f => f.StartsWith("Broker:Mail:Smtp:Security None", StringComparison.Ordinal));
    }

    [Fact]
    public void The_default_port_follows_the_security()
    {
        Assert.Equal(587, new SmtpOptions().EffectivePort);
        Assert.Equal(465, new SmtpOptions { Security = SmtpSecurity.Tls }.EffectivePort);
        Assert.Equal(25, new SmtpOptions { Security = SmtpSecurity.None }.EffectivePort);
        Assert.Equal(2525, new SmtpOptions { Port = 2525 }.EffectivePort);
    }
}
