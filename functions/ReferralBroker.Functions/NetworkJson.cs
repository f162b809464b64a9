using System.Text.Json;
using System.Text.Json.Serialization;
using ReferralBroker.Hosting;

namespace ReferralBroker.Azure;

/// <summary>
/// The network in Azure: one app setting holding {"organisations": [...], "partners": [...]}, so the Bicep can
/// pass a list as a parameter instead of one setting per field.
/// </summary>
public sealed class NetworkDocument
{
    public List<OrganisationOptions> Organisations { get; set; } = [];
    public List<PartnerOptions> Partners { get; set; } = [];

    public static NetworkDocument Parse(string? json) =>
        string.IsNullOrWhiteSpace(json)
            ? new NetworkDocument()
            : JsonSerializer.Deserialize(json, NetworkJsonContext.Default.NetworkDocument)
              ?? throw new InvalidOperationException($"{AzureSettings.NetworkJson} is not a network document.");
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, PropertyNameCaseInsensitive = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(NetworkDocument))]
internal sealed partial class NetworkJsonContext : JsonSerializerContext;
