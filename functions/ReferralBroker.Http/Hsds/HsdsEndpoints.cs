using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using ReferralBroker.Gate;
using ReferralBroker.Hosting;
using ReferralBroker.Http;
using ReferralBroker.Partners;
using ReferralBroker.Referrals;

namespace ReferralBroker.Hsds;

/// <summary>
/// The public directory through the HSDS 3.0 API (docs/hsds/api_reference.md, schema/openapi.json): read-only and
/// public like <c>GET /api/partners</c>, never the referral address. Lists are HSDS <c>Page</c>s; the query
/// parameters the specification defines that the broker honours are taken, any other is a 400 naming it (an
/// ignored filter would answer more than was asked: HSDS filters are cumulative). The whole directory is also a
/// Tabular Data Package (<see cref="HsdsDataPackage"/>).
/// </summary>
internal static class HsdsEndpoints
{
    public const string Root = "/api/hsds";
    public const int DefaultPerPage = 50;
    public const int MaxPerPage = 500;
    private static readonly string[] PageParameters = ["page", "per_page", "search", "format"];

    public static IEndpointRouteBuilder MapHsds(this IEndpointRouteBuilder routes)
    {
        var hsds = routes.MapGroup(Root).RequireAccess(Access.Anyone).WithTags("HSDS");
        hsds.MapGet("/", Info).WithName("HsdsInfo").Produces<HsdsApiInfo>();
        Paged(hsds.MapGet("/services", ListServices).WithName("HsdsListServices"))
            .Query("taxonomy_term_id", "Only services with an attribute of this taxonomy term (its id).")
            .Query("taxonomy_id", "Only services with an attribute of a term of this taxonomy (its id).")
            .Query("organization_id", "Only the services of this organization (its id).")
            .Query("full", "true: each service fully nested, as GET /api/hsds/services/{id} gives it; otherwise its one-to-one fields and organization.")
            .Produces<HsdsPage<HsdsService>>();
        hsds.MapGet("/services/{id}", GetService).WithName("HsdsGetService")
            .Produces<HsdsService>().Refuses(StatusCodes.Status404NotFound);
        Paged(hsds.MapGet("/organizations", ListOrganizations).WithName("HsdsListOrganizations"))
            .Query("full", "true: each organization whole, with its services (one-to-one fields); otherwise its one-to-one fields.")
            .Query("full_service", "true, with full: the services fully nested.")
            .Produces<HsdsPage<HsdsOrganization>>();
        hsds.MapGet("/organizations/{id}", GetOrganization).WithName("HsdsGetOrganization")
            .Query("full_service", "true: the organization's services fully nested; otherwise their one-to-one fields.")
            .Produces<JsonObject>().Refuses(StatusCodes.Status404NotFound);
        Paged(hsds.MapGet("/taxonomies", ListTaxonomies).WithName("HsdsListTaxonomies"))
            .Produces<HsdsPage<HsdsTaxonomy>>();
        hsds.MapGet("/taxonomies/{id}", GetTaxonomy).WithName("HsdsGetTaxonomy")
            .Produces<HsdsTaxonomy>().Refuses(StatusCodes.Status404NotFound);
        Paged(hsds.MapGet("/taxonomy_terms", ListTerms).WithName("HsdsListTaxonomyTerms"))
            .Query("taxonomy_id", "Only the terms of this taxonomy (its id).")
            .Query("top_only", "true: only terms without a parent (all of the broker's are).")
            .Query("parent_id", "Only the terms whose parent has this id (none of the broker's has one).")
            .Produces<HsdsPage<HsdsTaxonomyTerm>>();
        hsds.MapGet("/taxonomy_terms/{id}", GetTerm).WithName("HsdsGetTaxonomyTerm")
            .Produces<HsdsTaxonomyTerm>().Refuses(StatusCodes.Status404NotFound);
        hsds.MapGet("/datapackage.json", DataPackage).WithName("HsdsDataPackage")
            .Produces<JsonObject>();
        hsds.MapGet("/datapackage.zip", DataPackageZip).WithName("HsdsDataPackageZip")
            .Produces<byte[]>(StatusCodes.Status200OK, "application/zip");
        hsds.MapGet("/{table}.csv", Table).WithName("HsdsTable")
            .Produces<string>(StatusCodes.Status200OK, "text/csv").Refuses(StatusCodes.Status404NotFound);
        return routes;
    }

    private static RouteHandlerBuilder Paged(RouteHandlerBuilder route) => route
        .Query("page", "The page, from 1 (default 1).")
        .Query("per_page", $"Items per page, 1 to {MaxPerPage} (default {DefaultPerPage}).")
        .Query("search", "Only items whose name or description contains this text (any case).")
        .Query("format", "json, the only format (the default).")
        .Refuses(StatusCodes.Status400BadRequest);

    /// <summary>GET /api/hsds/: which HSDS version this is, and where its OpenAPI document is.</summary>
    public static JsonHttpResult<HsdsApiInfo> Info(IOptions<BrokerOptions> options) =>
        TypedResults.Json(new HsdsApiInfo(HsdsMapping.Version, null, options.Value.PublicBaseUrl.TrimEnd('/') + ApiDescription.DocumentPath),
            HsdsJsonContext.Default.HsdsApiInfo);

    public static IResult ListServices(HttpRequest request, INetworkDirectory directory)
    {
        var query = new QueryParameters(request.Query, [.. PageParameters, "taxonomy_term_id", "taxonomy_id", "organization_id", "full"]);
        var paging = Paging.Read(query);
        var termId = query.Text("taxonomy_term_id");
        var taxonomyId = query.Text("taxonomy_id");
        var organizationId = query.Text("organization_id");
        var full = Flag(query, "full");
        if (query.Errors.Count > 0)
        {
            return Problems.Malformed(query.Errors);
        }

        var view = HsdsView.Of(directory.Partners);
        var termsOfTaxonomy = taxonomyId is null ? null
            : view.Terms.Where(t => HsdsView.Text(t, "taxonomy_id") == taxonomyId).Select(t => HsdsView.Text(t, "id")).ToHashSet();
        var services = view.Services.Select(s => s.Service)
            .Where(s => paging.Matches(s, HsdsView.Text(s["organization"] as JsonObject ?? [], "name")))
            .Where(s => termId is null || HsdsView.Items(s, "attributes").Any(a => HsdsView.TermId(a) == termId))
            .Where(s => termsOfTaxonomy is null || HsdsView.Items(s, "attributes").Any(a => termsOfTaxonomy.Contains(HsdsView.TermId(a))))
            .Where(s => organizationId is null || OrganizationId(s) == organizationId)
            .Select(s => full ? s.DeepClone().AsObject() : HsdsView.Scalars(s))
            .ToList();
        return paging.Answer(services);
    }

    public static IResult GetService(HttpRequest request, INetworkDirectory directory) =>
        HsdsView.Of(directory.Partners).FindService(request.Route("id")) is { } service ? Json(service) : Problems.NotFound();

    public static IResult ListOrganizations(HttpRequest request, INetworkDirectory directory)
    {
        var query = new QueryParameters(request.Query, [.. PageParameters, "full", "full_service"]);
        var paging = Paging.Read(query);
        var full = Flag(query, "full");
        var fullService = Flag(query, "full_service");
        if (query.Errors.Count > 0)
        {
            return Problems.Malformed(query.Errors);
        }

        var view = HsdsView.Of(directory.Partners);
        return paging.Answer([.. view.Organizations
            .Where(o => paging.Matches(o))
            .Select(o => full ? WithServices(view, o, fullService) : HsdsView.Scalars(o))]);
    }

    public static IResult GetOrganization(HttpRequest request, INetworkDirectory directory)
    {
        var query = new QueryParameters(request.Query, "full_service");
        var fullService = Flag(query, "full_service");
        if (query.Errors.Count > 0)
        {
            return Problems.Malformed(query.Errors);
        }

        var view = HsdsView.Of(directory.Partners);
        var id = request.Route("id");
        return view.Organizations.FirstOrDefault(o => HsdsView.Text(o, "id") == id) is { } organization
            ? Json(WithServices(view, organization, fullService))
            : Problems.NotFound();
    }

    public static IResult ListTaxonomies(HttpRequest request, INetworkDirectory directory)
    {
        var query = new QueryParameters(request.Query, PageParameters);
        var paging = Paging.Read(query);
        return query.Errors.Count > 0
            ? Problems.Malformed(query.Errors)
            : paging.Answer([.. HsdsView.Of(directory.Partners).Taxonomies.Where(t => paging.Matches(t)).Select(t => t.DeepClone().AsObject())]);
    }

    public static IResult GetTaxonomy(HttpRequest request, INetworkDirectory directory)
    {
        var id = request.Route("id");
        return HsdsView.Of(directory.Partners).Taxonomies.FirstOrDefault(t => HsdsView.Text(t, "id") == id) is { } taxonomy
            ? Json(taxonomy)
            : Problems.NotFound();
    }

    public static IResult ListTerms(HttpRequest request, INetworkDirectory directory)
    {
        var query = new QueryParameters(request.Query, [.. PageParameters, "taxonomy_id", "top_only", "parent_id"]);
        var paging = Paging.Read(query);
        var taxonomyId = query.Text("taxonomy_id");
        var topOnly = Flag(query, "top_only");
        var parentId = query.Text("parent_id");
        if (query.Errors.Count > 0)
        {
            return Problems.Malformed(query.Errors);
        }

        return paging.Answer([.. HsdsView.Of(directory.Partners).Terms
            .Where(t => paging.Matches(t))
            .Where(t => taxonomyId is null || HsdsView.Text(t, "taxonomy_id") == taxonomyId)
            .Where(t => !topOnly || HsdsView.Text(t, "parent_id") is null)
            .Where(t => parentId is null || HsdsView.Text(t, "parent_id") == parentId)
            .Select(t => t.DeepClone().AsObject())]);
    }

    public static IResult GetTerm(HttpRequest request, INetworkDirectory directory)
    {
        var id = request.Route("id");
        return HsdsView.Of(directory.Partners).Terms.FirstOrDefault(t => HsdsView.Text(t, "id") == id) is { } term
            ? Json(term)
            : Problems.NotFound();
    }

    public static IResult DataPackage() =>
        Json(HsdsDataPackage.Descriptor());

    public static IResult DataPackageZip(INetworkDirectory directory) =>
        TypedResults.File(HsdsDataPackage.Zip(HsdsView.Of(directory.Partners)), "application/zip", "datapackage.zip");

    public static IResult Table(HttpRequest request, INetworkDirectory directory) =>
        HsdsDataPackage.Csv(request.Route("table") + ".csv", HsdsView.Of(directory.Partners)) is { } csv
            ? TypedResults.Text(csv, "text/csv; charset=utf-8")
            : Problems.NotFound();

    private static string? OrganizationId(JsonObject service) =>
        (service["organization"] is JsonObject organization ? HsdsView.Text(organization, "id") : null) ?? HsdsView.Text(service, "organization_id");

    /// <summary>An organization as /organizations/{id} gives it: with the services it provides.</summary>
    private static JsonObject WithServices(HsdsView view, JsonObject organization, bool fullServices)
    {
        var id = HsdsView.Text(organization, "id");
        var copy = organization.DeepClone().AsObject();
        copy["services"] = new JsonArray([.. view.Services.Select(s => s.Service)
            .Where(s => OrganizationId(s) == id)
            .Select(s => (JsonNode)(fullServices ? s.DeepClone().AsObject() : WithoutOrganization(HsdsView.Scalars(s))))]);
        return copy;
    }

    private static JsonObject WithoutOrganization(JsonObject service)
    {
        service.Remove("organization");
        return service;
    }

    private static bool Flag(QueryParameters query, string name) =>
        query.Parsed(name, (string? text, out bool value) => bool.TryParse(text, out value) && text is "true" or "false", "true or false.") ?? false;

    private static JsonHttpResult<JsonObject> Json(JsonObject value) => TypedResults.Json(value, HsdsJsonContext.Default.JsonObject);

    /// <summary>A list's page, search and format, read from the query.</summary>
    private sealed record Paging(int Page, int PerPage, string? Search)
    {
        public static Paging Read(QueryParameters query)
        {
            var page = query.Integer("page", 1, int.MaxValue) ?? 1;
            var perPage = query.Integer("per_page", 1, MaxPerPage) ?? DefaultPerPage;
            if (query.Text("format") is { } format && format != "json")
            {
                query.Errors["format"] = ["json, the only format this API answers in."];
            }

            return new Paging(page, perPage, query.Text("search"));
        }

        public bool Matches(JsonObject item, string? alsoSearched = null) =>
            Search is null || new[] { HsdsView.Text(item, "name"), HsdsView.Text(item, "alternate_name"), HsdsView.Text(item, "description"), alsoSearched }
                .Any(text => text?.Contains(Search, StringComparison.OrdinalIgnoreCase) == true);

        public JsonHttpResult<HsdsPage<JsonObject>> Answer(List<JsonObject> all)
        {
            var skip = (long)(Page - 1) * PerPage;
            List<JsonObject> contents = skip >= all.Count ? [] : [.. all.Skip((int)skip).Take(PerPage)];
            var totalPages = (int)(((long)all.Count + PerPage - 1) / PerPage);
            return TypedResults.Json(
                new HsdsPage<JsonObject>(all.Count, totalPages, Page, contents.Count, Page == 1, Page >= totalPages, contents.Count == 0, contents),
                HsdsJsonContext.Default.HsdsPageJsonObject);
        }
    }
}

/// <summary>The HSDS API's <c>Page</c> (schema/openapi.json, components/schemas/Page) with its <c>contents</c>.</summary>
public sealed record HsdsPage<T>(
    [property: JsonPropertyName("total_items")] int TotalItems,
    [property: JsonPropertyName("total_pages")] int TotalPages,
    [property: JsonPropertyName("page_number")] int PageNumber,
    [property: JsonPropertyName("size")] int Size,
    [property: JsonPropertyName("first_page")] bool FirstPage,
    [property: JsonPropertyName("last_page")] bool LastPage,
    [property: JsonPropertyName("empty")] bool Empty,
    [property: JsonPropertyName("contents")] IReadOnlyList<T> Contents);

/// <summary>GET /api/hsds/ as schema/openapi.json's "/" says: the HSDS version and the API's OpenAPI document.</summary>
public sealed record HsdsApiInfo(
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("profile")] string? Profile,
    [property: JsonPropertyName("openapi_url")] string OpenApiUrl);
