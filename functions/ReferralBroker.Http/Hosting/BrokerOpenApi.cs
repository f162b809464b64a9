using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using ReferralBroker.Gate;
using ReferralBroker.Http;
using ReferralBroker.Partners;

namespace ReferralBroker.Hosting;

/// <summary>
/// /openapi/v1.json, generated from the endpoints by the embedded host. The Functions worker cannot generate it (its
/// routes are functions, not endpoints), so it serves the copy committed beside it, which a test keeps equal to this.
/// What the routes cannot say themselves comes from one place each: their bodies and parameters from
/// <see cref="ApiDescription"/> in each feature's MapXxx, the keys and the gate's refusals from their access rule here.
/// </summary>
internal static class BrokerOpenApi
{
    public const string OrganisationKey = "organisationKey";
    public const string CoordinatorKey = "coordinatorKey";
    public const string PartnerCapability = "partnerCapability";

    public static IServiceCollection AddBrokerOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1;
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "ReferralBroker",
                    Version = "v1",
                    Description = "Consented referrals between sex-worker-led and anti-trafficking organisations. The broker holds " +
                        "nothing that identifies a client. Every error is RFC 9457 problem+json; 400 and 422 name the fields in \"errors\".",
                };
                // The same document for every hosting and address: paths are relative to wherever it was fetched from.
                document.Servers = [];
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
                {
                    [OrganisationKey] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.Http,
                        Scheme = "bearer",
                        Description = "An organisation's API key (rbk_…, issued by the network coordinator), or one of its caseworkers' " +
                            "personal keys (rbs_…): either acts as the organisation. /api/staff takes the organisation's own key only.",
                    },
                    [CoordinatorKey] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.Http,
                        Scheme = "bearer",
                        Description = "The network coordinator's key (the configured one, or a coordinator's personal key rbs_…). " +
                            "An organisation's or a caseworker's key gets 403.",
                    },
                    [PartnerCapability] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.ApiKey,
                        In = ParameterLocation.Header,
                        Name = PartnerEndpoints.CapabilityHeader,
                        Description = "Derived in the partner's browser from the link secret in the fragment of the emailed link " +
                            "(README \"Tokens and sealing\"; the walkthrough has a one-line way); the secret itself never reaches the broker.",
                    },
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer(DescribeAsync);
            options.AddSchemaTransformer((schema, context, _) =>
            {
                // Null is never written (WhenWritingNull) and an absent optional input is null: a nullable property
                // is one that may be missing, whatever the record's constructor says.
                if (schema.Required is { Count: > 0 } required && context.JsonTypeInfo.Kind == System.Text.Json.Serialization.Metadata.JsonTypeInfoKind.Object)
                {
                    foreach (var property in context.JsonTypeInfo.Properties.Where(p => p.IsGetNullable && p.IsSetNullable))
                    {
                        required.Remove(property.Name);
                    }
                }

                return Task.CompletedTask;
            });
        });

    public static IEndpointConventionBuilder MapBrokerOpenApi(this IEndpointRouteBuilder routes) =>
        routes.MapOpenApi(ApiDescription.DocumentPath).RequireAccess(Access.Anyone).WithName("OpenApiDocument");

    private static async Task DescribeAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        var rule = metadata.OfType<GateAttribute>().LastOrDefault() ?? new GateAttribute(Access.Anyone);
        if (metadata.OfType<ApiBody>().LastOrDefault() is { } body)
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType> { [body.ContentType] = new() { Schema = await SchemaAsync(body.Type, context, ct) } },
            };
        }

        operation.Parameters ??= [];
        // The handlers read their route values themselves (RouteValues), so the binder never met them.
        foreach (var name in RouteParameters(context.Description.RelativePath).Where(n => !operation.Parameters.Any(p => p.In == ParameterLocation.Path && p.Name == n)))
        {
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = name,
                In = ParameterLocation.Path,
                Required = true,
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            });
        }

        foreach (var parameter in metadata.OfType<ApiParameter>())
        {
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = parameter.Name,
                In = parameter.In == ApiParameter.InHeader ? ParameterLocation.Header : ParameterLocation.Query,
                Description = parameter.Description,
                Schema = parameter.Repeatable
                    ? new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } }
                    : new OpenApiSchema { Type = JsonSchemaType.String },
            });
        }

        // Alternatives: any one of the schemes opens the route.
        if (Schemes(rule.Access) is { Length: > 0 } schemes)
        {
            operation.Security = [.. schemes.Select(scheme =>
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(scheme, context.Document)] = [] })];
        }

        operation.Responses ??= [];
        foreach (var alternative in metadata.OfType<TextAlternative>())
        {
            if (operation.Responses.TryGetValue("200", out var ok) && ok is OpenApiResponse response)
            {
                response.Content ??= new Dictionary<string, OpenApiMediaType>();
                response.Content[alternative.ContentType] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String } };
            }
        }

        foreach (var (status, description) in GateAnswers(rule))
        {
            if (!operation.Responses.ContainsKey(status))
            {
                operation.Responses[status] = new OpenApiResponse
                {
                    Description = description,
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference(nameof(Microsoft.AspNetCore.Mvc.ProblemDetails), context.Document) },
                    },
                };
            }
        }

    }

    /// <summary>An object's schema as a component of the document (as the generator does for the answers), others inline.</summary>
    private static async Task<IOpenApiSchema> SchemaAsync(Type type, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        var schema = await context.GetOrCreateSchemaAsync(type, null, ct);
        if (type == typeof(string) || context.Document is not { } document)
        {
            return schema;
        }

        document.AddComponent(type.Name, schema);
        return new OpenApiSchemaReference(type.Name, document);
    }

    /// <summary>Every {parameter} of the path, a whole segment or part of one ("{table}.csv").</summary>
    private static IEnumerable<string> RouteParameters(string? path) =>
        (path ?? "").Split('/').SelectMany(s => s.Split('{').Skip(1)).Select(p => p[..p.IndexOf('}')].Split(':', '=', '?')[0]);

    /// <summary>The schemes a route's rule takes; a rule added to <see cref="Access"/> must be named here.</summary>
    public static string[] Schemes(Access access) => access switch
    {
        Access.Organisation or Access.OrganisationSystem => [OrganisationKey],
        Access.Coordinator => [CoordinatorKey],
        Access.Staff => [OrganisationKey, CoordinatorKey],
        Access.Partner => [PartnerCapability],
        Access.Anyone or Access.ClientStatus or Access.ClientStatusPage => [],
        _ => throw new ArgumentOutOfRangeException(nameof(access), access, "Say which security scheme this access rule takes."),
    };

    /// <summary>What <see cref="BrokerGate"/> answers before the handler runs, by the route's rule.</summary>
    private static IEnumerable<(string Status, string Description)> GateAnswers(GateAttribute rule)
    {
        if (rule.Access is Access.Organisation or Access.OrganisationSystem or Access.Coordinator or Access.Staff)
        {
            yield return ("401", "No key, or one nobody holds (WWW-Authenticate: Bearer).");
        }

        if (rule.Access is Access.Coordinator)
        {
            yield return ("403", "An organisation's or a caseworker's key: the admin API is the coordinator's.");
        }

        if (rule.Access is Access.OrganisationSystem)
        {
            yield return ("403", "A caseworker's key: only the organisation's own key manages its staff keys.");
        }

        if (rule.Access is Access.Partner or Access.ClientStatus || rule.Limit != OrganisationLimit.None)
        {
            yield return ("429", "Too many requests (per address, per organisation, or the guessing budget); Retry-After says how long to wait.");
        }

        yield return ("500", "The broker could not answer; nothing about why.");
    }
}
