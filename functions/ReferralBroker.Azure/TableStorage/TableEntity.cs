using System.Globalization;
using System.Text.Json;

namespace ReferralBroker.Azure.TableStorage;

/// <summary>
/// One entity as the Table service sees it: keys, ETag and typed properties. Only the types this adapter stores
/// are supported (string, Int32, DateTime), each written with the annotation the service needs to keep its type.
/// </summary>
internal sealed class TableEntity
{
    // The wire names of the system properties (constants, so they do not read as names of this class's members).
    private const string PartitionKeyProperty = "PartitionKey";
    private const string RowKeyProperty = "RowKey";

    private readonly Dictionary<string, object> _properties = new(StringComparer.Ordinal);

    public TableEntity(EntityKey key, string? etag = null)
    {
        Key = key;
        ETag = etag;
    }

    public EntityKey Key { get; }

    public string PartitionKey => Key.PartitionKey;

    public string RowKey => Key.RowKey;

    /// <summary>The version the service reported when this entity was read; null for one built to be written.</summary>
    public string? ETag { get; }

    public IEnumerable<string> PropertyNames => _properties.Keys;

    /// <summary>Sets a string property; null leaves the property out, which is how the service stores null.</summary>
    public TableEntity Set(string name, string? value) => SetOrRemove(name, value);

    public TableEntity Set(string name, int value) => SetOrRemove(name, value);

    public TableEntity Set(string name, DateTimeOffset? value) => SetOrRemove(name, value);

    public string? GetString(string name) => _properties.GetValueOrDefault(name) switch
    {
        null => null,
        string text => text,
        JsonElement { ValueKind: JsonValueKind.String } element => element.GetString(),
        _ => throw WrongType(name),
    };

    public int? GetInt32(string name) => _properties.GetValueOrDefault(name) switch
    {
        null => null,
        int number => number,
        JsonElement { ValueKind: JsonValueKind.Number } element when element.TryGetInt32(out var number) => number,
        _ => throw WrongType(name),
    };

    public DateTimeOffset? GetDateTime(string name) => _properties.GetValueOrDefault(name) switch
    {
        null => null,
        DateTimeOffset value => value,
        // Reads without metadata drop the Edm.DateTime annotation, so the value arrives as an ISO 8601 string.
        JsonElement { ValueKind: JsonValueKind.String } element when DateTimeOffset.TryParse(
            element.GetString(), CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value) => value,
        _ => throw WrongType(name),
    };

    public string RequireString(string name) => GetString(name) ?? throw Missing(name);

    public int RequireInt32(string name) => GetInt32(name) ?? throw Missing(name);

    public DateTimeOffset RequireDateTime(string name) => GetDateTime(name) ?? throw Missing(name);

    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString(PartitionKeyProperty, PartitionKey);
            writer.WriteString(RowKeyProperty, RowKey);
            foreach (var (name, value) in _properties)
            {
                switch (value)
                {
                    case string text:
                        writer.WriteString(name, text);
                        break;
                    case int number:
                        writer.WriteNumber(name, number);
                        break;
                    case DateTimeOffset time:
                        writer.WriteString(name, TableKeys.FormatDateTime(time));
                        writer.WriteString(name + "@odata.type", "Edm.DateTime");
                        break;
                    case JsonElement element:
                        // Copied from a read; only strings and numbers are ever read back into a write.
                        element.WriteTo(writer);
                        break;
                }
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Reads one entity of a response; <paramref name="etag"/> comes from the header or odata.etag.</summary>
    public static TableEntity FromJson(JsonElement json, string? etag)
    {
        string? partitionKey = null, rowKey = null;
        var properties = new List<(string, JsonElement)>();
        foreach (var property in json.EnumerateObject())
        {
            switch (property.Name)
            {
                case PartitionKeyProperty:
                    partitionKey = property.Value.GetString();
                    break;
                case RowKeyProperty:
                    rowKey = property.Value.GetString();
                    break;
                case "odata.etag":
                    etag ??= property.Value.GetString();
                    break;
                case "Timestamp":
                    break;
                default:
                    // odata.* and Name@odata.type are metadata about the properties, not properties.
                    if (!property.Name.StartsWith("odata.", StringComparison.Ordinal) && !property.Name.Contains('@', StringComparison.Ordinal))
                    {
                        properties.Add((property.Name, property.Value.Clone()));
                    }

                    break;
            }
        }

        if (partitionKey is null || rowKey is null)
        {
            throw new InvalidDataException("The Table service returned an entity without keys.");
        }

        var entity = new TableEntity(new EntityKey(partitionKey, rowKey), etag);
        foreach (var (name, value) in properties)
        {
            entity._properties[name] = value;
        }

        return entity;
    }

    private TableEntity SetOrRemove(string name, object? value)
    {
        if (value is null)
        {
            _properties.Remove(name);
        }
        else
        {
            _properties[name] = value;
        }

        return this;
    }

    // Messages name the property, never its value: values may be hashes of secrets or sealed data.
    private static InvalidDataException Missing(string name) => new($"Stored entity lacks the property {name}.");

    private static InvalidDataException WrongType(string name) => new($"Stored property {name} has an unexpected type.");
}
