using Azure.Data.Tables;

namespace ReferralBroker.Azure.TableStorage;

/// <summary>
/// Building and reading the SDK's <see cref="TableEntity"/> with its own typed getters. A null leaves the property
/// out (how the service stores null); a missing or mistyped property is named in the error, never its value.
/// </summary>
internal static class TableEntities
{
    public static TableEntity New(EntityKey key, params IEnumerable<(string Name, object? Value)> properties)
    {
        var entity = new TableEntity(key.PartitionKey, key.RowKey);
        foreach (var (name, value) in properties.Where(p => p.Value is not null))
        {
            entity[name] = value;
        }

        return entity;
    }

    public static EntityKey Key(this ITableEntity entity) => new(entity.PartitionKey, entity.RowKey);

    public static string? ReadString(this TableEntity entity, string name) => Read(name, entity.GetString);

    public static int? ReadInt32(this TableEntity entity, string name) => Read(name, entity.GetInt32);

    public static DateTimeOffset? ReadDateTime(this TableEntity entity, string name) => Read(name, entity.GetDateTimeOffset);

    public static string RequireString(this TableEntity entity, string name) => entity.ReadString(name) ?? throw Missing(name);

    public static int RequireInt32(this TableEntity entity, string name) => entity.ReadInt32(name) ?? throw Missing(name);

    public static DateTimeOffset RequireDateTime(this TableEntity entity, string name) => entity.ReadDateTime(name) ?? throw Missing(name);

    private static T Read<T>(string name, Func<string, T> read)
    {
        try
        {
            return read(name);
        }
        catch (InvalidOperationException)
        {
            throw new InvalidDataException($"Stored property {name} has an unexpected type.");
        }
    }

    private static InvalidDataException Missing(string name) => new($"Stored entity lacks the property {name}.");
}
