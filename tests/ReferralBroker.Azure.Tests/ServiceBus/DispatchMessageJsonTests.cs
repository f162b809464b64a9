using System.Text;
using System.Text.Json;
using ReferralBroker.Azure.ServiceBus;
using ReferralBroker.Ports;

namespace ReferralBroker.Azure.Tests.ServiceBus;

public sealed class DispatchMessageJsonTests
{
    private static readonly DispatchMessage Message = new("msg-1", "ref-1", "partner-1", "health", "link-secret-value");

    [Fact]
    public void Serialized_message_decodes_back_to_the_same_message()
    {
        Assert.Equal(Message, DispatchMessageJson.Deserialize(DispatchMessageJson.Serialize(Message)));
    }

    [Fact]
    public void Wire_shape_is_camel_case_with_exactly_the_five_fields()
    {
        using var json = JsonDocument.Parse(DispatchMessageJson.Serialize(Message));

        Assert.Equal(
            ["messageId", "referralId", "partnerId", "category", "linkSecret"],
            json.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("ref-1", json.RootElement.GetProperty("referralId").GetString());
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("null")]
    [InlineData("""{"messageId":"m","referralId":"r","partnerId":"p","category":"health"}""")]
    [InlineData("""{"messageId":"m","referralId":null,"partnerId":"p","category":"health","linkSecret":"s"}""")]
    public void Payload_that_is_not_a_complete_message_decodes_to_null(string payload)
    {
        Assert.Null(DispatchMessageJson.Deserialize(Encoding.UTF8.GetBytes(payload)));
    }
}
