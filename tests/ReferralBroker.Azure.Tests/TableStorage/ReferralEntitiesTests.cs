using System.Text.Json;
using Azure.Data.Tables;
using ReferralBroker.Azure.TableStorage;

namespace ReferralBroker.Azure.Tests.TableStorage;

/// <summary>The mapping between a record and the SDK's entity, offline; the trip through the service is in the store tests.</summary>
public sealed class ReferralEntitiesTests
{
    [Fact]
    public void A_record_survives_the_trip_through_its_entity()
    {
        var record = Records.Accepted();

        var back = ReferralEntities.ToRecord(Copy(ReferralEntities.ToEntity(record)));

        Records.AssertSame(record, back);
    }

    [Fact]
    public void Stored_records_use_wire_names_typed_dates_and_a_JSON_history()
    {
        var record = Records.Declined();

        var entity = ReferralEntities.ToEntity(record);

        Assert.Equal(record.ReferralId, entity.PartitionKey);
        Assert.Equal("referral", entity.RowKey);
        Assert.Equal("declined", entity["Status"]);
        Assert.Equal("no-capacity", entity["DeclineReason"]);
        Assert.Equal("legal", entity["Category"]);
        // DateTimeOffset is what the SDK writes as Edm.DateTime; a string would lose the type in the service.
        Assert.IsType<DateTimeOffset>(entity["PurgeAt"]);
        Assert.IsType<DateTimeOffset>(entity[TableKeys.DueAtProperty]);
        Assert.Equal(2, JsonDocument.Parse(entity.GetString("History")).RootElement.GetArrayLength());
        Assert.False(entity.ContainsKey("SealedCiphertext"));
        Assert.False(entity.ContainsKey("SealedDeleteAt"));
    }

    [Fact]
    public void Long_ciphertext_is_split_into_parts_within_the_property_limit()
    {
        var record = Records.Submitted("{\"needs\":\"" + new string('n', 70_000) + "\"}");

        var entity = ReferralEntities.ToEntity(record);

        var parts = entity.Keys.Where(n => n.StartsWith("SealedCiphertext", StringComparison.Ordinal) && n != "SealedCiphertextParts").ToList();
        Assert.True(parts.Count >= 3);
        Assert.All(parts, p => Assert.True(entity.GetString(p).Length <= ReferralEntities.CiphertextPartLength));
        Assert.Equal(record.Sealed, ReferralEntities.ToRecord(Copy(entity)).Sealed);
    }

    [Fact]
    public void An_entity_of_an_unknown_schema_is_refused_rather_than_misread()
    {
        var entity = ReferralEntities.ToEntity(Records.Submitted());
        entity["Schema"] = 2;

        Assert.Throws<InvalidDataException>(() => ReferralEntities.ToRecord(entity));
    }

    [Fact]
    public void Nothing_but_the_sealed_form_of_the_client_details_is_stored()
    {
        const string marker = "Marker-Nombre-0042";
        var record = Records.Submitted($$"""{"firstName":"{{marker}}","contact":"{{marker}}@example.org"}""");

        var entity = ReferralEntities.ToEntity(record);

        Assert.DoesNotContain(((IDictionary<string, object>)entity).Values, v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)!.Contains(marker, StringComparison.Ordinal));
    }

    /// <summary>A fresh entity with the same properties, so that reading back cannot lean on the object written.</summary>
    private static TableEntity Copy(TableEntity entity) => new(entity.ToDictionary(p => p.Key, p => p.Value));
}
