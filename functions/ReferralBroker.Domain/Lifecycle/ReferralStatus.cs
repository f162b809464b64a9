namespace ReferralBroker.Lifecycle;

public enum ReferralStatus
{
    Submitted,
    Delivered,
    Accepted,
    Declined,
    InProgress,
    Completed,
    CouldNotContact,
    Withdrawn,
    Expired,
}

/// <summary>What happened to a referral; the lifecycle decides whether it may.</summary>
public enum ReferralEvent
{
    Deliver,
    Accept,
    Decline,
    StartProgress,
    Complete,
    FailContact,
    Withdraw,
    Expire,
    /// <summary>The organisation sends a referral marked deliveryFailed again, with its details typed anew.</summary>
    Resend,
}

/// <summary>
/// A kind of service. Health, legal and employment come built in; the network coordinator may give a partner any
/// other category (a lower-case word such as "housing"), so this is an open set of wire names, not an enum.
/// </summary>
[System.Text.Json.Serialization.JsonConverter(typeof(ServiceCategoryJsonConverter))]
public readonly record struct ServiceCategory
{
    public static readonly ServiceCategory Health = new("health");
    public static readonly ServiceCategory Legal = new("legal");
    public static readonly ServiceCategory Employment = new("employment");

    public static IReadOnlyList<ServiceCategory> BuiltIn { get; } = [Health, Legal, Employment];

    private ServiceCategory(string name) => Name = name;

    /// <summary>The wire name: 2 to 32 characters of a-z, 0-9 and '-', starting with a letter.</summary>
    public string Name { get; }

    public static bool TryCreate(string? text, out ServiceCategory category)
    {
        var valid = text is { Length: >= 2 and <= 32 } && char.IsAsciiLetterLower(text[0])
            && text.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-') && !text.EndsWith('-');
        category = valid ? new ServiceCategory(text!) : default;
        return valid;
    }

    public override string ToString() => Name;
}

/// <summary>Stored as the wire name; reads the enum names ("Health") that records written before categories were open hold.</summary>
public sealed class ServiceCategoryJsonConverter : System.Text.Json.Serialization.JsonConverter<ServiceCategory>
{
    public override ServiceCategory Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options) =>
        ServiceCategory.TryCreate(reader.GetString()?.ToLowerInvariant(), out var category)
            ? category
            : throw new System.Text.Json.JsonException("Not a service category.");

    public override void Write(System.Text.Json.Utf8JsonWriter writer, ServiceCategory value, System.Text.Json.JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Name);
}

public enum ConsentMethod
{
    Verbal,
    Written,
    Digital,
}

public enum DeclineReason
{
    NoCapacity,
    NotEligible,
    CannotContact,
    Other,
}
