using System.Text;
using System.Text.Json;
using ReferralBroker.Azure.TableStorage;

namespace ReferralBroker.Azure.Tests.TableStorage;

public sealed class ReferralEntitiesTests
{
    [Fact]
    public void A_record_survives_the_trip_through_entity_JSON()
    {
        var record = Records.Accepted();

        var back = ReferralEntities.ToRecord(ThroughJson(ReferralEntities.ToEntity(record)));

        Records.AssertSame(record, back);
    }

    [Fact]
    public void Stored_records_use_wire_names_typed_dates_and_a_JSON_history()
    {
        var record = Records.Declined();

        using var json = JsonDocument.Parse(ReferralEntities.ToEntity(record).ToJson());
        var root = json.RootElement;

        Assert.Equal(record.ReferralId, root.GetProperty("PartitionKey").GetString());
        Assert.Equal("referral", root.GetProperty("RowKey").GetString());
        Assert.Equal("declined", root.GetProperty("Status").GetString());
        Assert.Equal("no-capacity", root.GetProperty("DeclineReason").GetString());
        Assert.Equal("legal", root.GetProperty("Category").GetString());
        Assert.Equal("Edm.DateTime", root.GetProperty("PurgeAt@odata.type").GetString());
        Assert.Equal("Edm.DateTime", root.GetProperty("DueAt@odata.type").GetString());
        Assert.Equal(2, JsonDocument.Parse(root.GetProperty("History").GetString()!).RootElement.GetArrayLength());
        Assert.False(root.TryGetProperty("SealedCiphertext", out _));
        Assert.False(root.TryGetProperty("SealedDeleteAt", out _));
    }

    [Fact]
    public void Long_ciphertext_is_split_into_parts_within_the_property_limit()
    {
        var record = Records.Submitted("{\"needs\":\"" + new string('n', 70_000) + "\"}");

        var entity = ReferralEntities.ToEntity(record);

        var parts = entity.PropertyNames.Where(n => n.StartsWith("SealedCiphertext", StringComparison.Ordinal) && n != "SealedCiphertextParts").ToList();
        Assert.True(parts.Count >= 3);
        Assert.All(parts, p => Assert.True(entity.GetString(p)!.Length <= ReferralEntities.CiphertextPartLength));
        Assert.Equal(record.Sealed, ReferralEntities.ToRecord(ThroughJson(entity)).Sealed);
    }

    [Fact]
    public void An_entity_of_an_unknown_schema_is_refused_rather_than_misread()
    {
        var entity = ReferralEntities.ToEntity(Records.Submitted()).Set("Schema", 2);

        Assert.Throws<InvalidDataException>(() => ReferralEntities.ToRecord(ThroughJson(entity)));
    }

    [Fact]
    public void Nothing_but_the_sealed_form_of_the_client_details_is_stored()
    {
        const string marker = "Marker-Nombre-0042";
        var record = Records.Submitted($$"""{"firstName":"{{marker}}","contact":"{{marker}}@example.org"}""");

        var json = Encoding.UTF8.GetString(ReferralEntities.ToEntity(record).ToJson());

        Assert.DoesNotContain(marker, json, StringComparison.Ordinal);
    }

    /// <summary>Written JSON read back the way a response is read (type annotations ignored, dates parsed from strings).</summary>
    private static TableEntity ThroughJson(TableEntity entity)
    {
        using var json = JsonDocument.Parse(entity.ToJson());
        return TableEntity.FromJson(json.RootElement, etag: "W/\"datetime'2026-03-14T15%3A09%3A26.5358979Z'\"");
    }
}
