using ReferralBroker.Referrals;

namespace ReferralBroker.Tests.Domain;

public sealed class EmailAddressesTests
{
    [Theory]
    [InlineData("intake@clinic.example.org")]
    [InlineData("a@b.co")]
    [InlineData("first.last@sub.domain.example")]
    [InlineData("o'brien@law.example")]
    [InlineData("intake+referrals@clinic.example")]
    [InlineData("=cmd@clinic.example")] // valid RFC 5322 atext: CSV export neutralises it, the address rule does not
    [InlineData("x-y_z@xn--bcher-kva.example")]
    [InlineData("สวัสดี@ตัวอย่าง.ไทย")]
    [InlineData("Intake@Clinic.Example.ORG")]
    public void One_plain_address_is_an_addr_spec(string address) => Assert.True(EmailAddresses.IsAddrSpec(address));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("a@")]
    [InlineData("@clinic.example")]
    [InlineData("intake")]
    [InlineData("a@b>,<spy@evil.example")]                  // a list smuggled through angle brackets
    [InlineData("a@clinic.example,spy@evil.example")]       // a list
    [InlineData("a@clinic.example;spy@evil.example")]
    [InlineData("Clinic <intake@clinic.example>")]          // a display name
    [InlineData("<intake@clinic.example>")]
    [InlineData("intake@clinic.example (front desk)")]      // a comment
    [InlineData("intake(desk)@clinic.example")]
    [InlineData("\"in take\"@clinic.example")]              // a quoted local part
    [InlineData("intake@[192.0.2.1]")]                      // a domain literal
    [InlineData("intake@clinic.example\r\nBcc: spy@evil.example")] // header injection
    [InlineData("intake@clinic.example\n")]
    [InlineData(" intake@clinic.example")]
    [InlineData("in take@clinic.example")]
    [InlineData("intake@clinic\u00A0example.org")]          // a no-break space
    [InlineData("intake@localhost")]                        // no dot: not a mail domain on the internet
    [InlineData(".intake@clinic.example")]
    [InlineData("in..take@clinic.example")]
    [InlineData("intake.@clinic.example")]
    [InlineData("intake@clinic..example")]
    [InlineData("intake@-clinic.example")]
    [InlineData("intake@clinic-.example")]
    [InlineData("intake@clinic_a.example")]
    [InlineData("a@b@clinic.example")]
    [InlineData("intake@clinic.example\u0000")]
    public void Anything_else_is_refused(string? address) => Assert.False(EmailAddresses.IsAddrSpec(address));

    [Fact]
    public void Lengths_follow_RFC_5321()
    {
        Assert.True(EmailAddresses.IsAddrSpec(new string('a', 64) + "@clinic.example"));
        Assert.False(EmailAddresses.IsAddrSpec(new string('a', 65) + "@clinic.example"));
        Assert.True(EmailAddresses.IsAddrSpec("a@" + new string('b', 63) + ".example"));
        Assert.False(EmailAddresses.IsAddrSpec("a@" + new string('b', 64) + ".example"));
        var longDomain = string.Join('.', Enumerable.Repeat(new string('d', 60), 4)) + ".org"; // 247 characters
        Assert.False(EmailAddresses.IsAddrSpec("abcdefgh@" + longDomain)); // 256 in all
        Assert.True(EmailAddresses.IsAddrSpec("abcdef@" + longDomain));
    }
}
