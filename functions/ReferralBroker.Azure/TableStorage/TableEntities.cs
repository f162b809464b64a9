using Azure.Data.Tables;

namespace ReferralBroker.Azure.TableStorage;

/// <summary>
/// The few ways the stores build and read the SDK's <see cref="TableEntity"/>: only string, Int32 and DateTime
/// properties, a null leaving the property out (which is how the service stores null), and a missing or
/// mistyped property named in the error, never its value.
/// </summary>
internal static class TableEntities
{
    public static TableEntity New(EntityKey key) => new(key.PartitionKey, key.RowKey);

    public static EntityKey Key(this TableEntity entity) => new(entity.PartitionKey, entity.RowKey);

    public static TableEntity With(this TableEntity entity, string name, string? value) => entity.SetOrRemove(name, value);

    public static TableEntity With(this TableEntity entity, string name, int value) => entity.SetOrRemove(name, value);

    public static TableEntity With(this TableEntity entity, string name, DateTimeOffset? value) => entity.SetOrRemove(name, value);

    public static string? ReadString(this TableEntity entity, string name) => Read(name, () => entity.GetString(name));

    public static int? ReadInt32(this TableEntity entity, string name) => Read(name, () => entity.GetInt32(name));

    public static DateTimeOffset? ReadDateTime(this TableEntity entity, string name) => Read(name, () => entity.GetDateTimeOffset(name));

    public static string RequireString(this TableEntity entity, string name) => entity.ReadString(name) ?? throw Missing(name);

    public static int RequireInt32(this TableEntity entity, string name) => entity.ReadInt32(name) ?? throw Missing(name);

    public static DateTimeOffset RequireDateTime(this TableEntity entity, string name) => entity.ReadDateTime(name) ?? throw Missing(name);

    private static TableEntity SetOrRemove(this TableEntity entity, string name, object? value)
    {
        if (value is null)
        {
            entity.Remove(name);
        }
        else
        {
            entity[name] = value;
        }

        return entity;
    }

    private static T Read<T>(string name, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (InvalidOperationException)
        {
            // The SDK's message would quote the stored value, which may be a hash of a secret or sealed data.
            throw new InvalidDataException($"Stored property {name} has an unexpected type.");
        }
    }

    private static InvalidDataException Missing(string name) => new($"Stored entity lacks the property {name}.");
}
