using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using ReferralBroker.Gate;
using ReferralBroker.Hosting;
using ReferralBroker.Hsds;
using ReferralBroker.Referrals;

namespace ReferralBroker.Functions;

/// <summary>The public directory through the HSDS 3.0 API and as a Data Package (<see cref="HsdsEndpoints"/>).</summary>
[Gate(Access.Anyone)]
internal sealed class HsdsFunctions(INetworkDirectory directory, IOptions<BrokerOptions> options)
{
    [Function("HsdsInfo")]
    public IResult Info([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/hsds")] HttpRequest request) =>
        HsdsEndpoints.Info(options);

    [Function("HsdsListServices")]
    public IResult ListServices([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/hsds/services")] HttpRequest request) =>
        HsdsEndpoints.ListServices(request, directory);

    [Function("HsdsGetService")]
    public IResult GetService([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/hsds/services/{id}")] HttpRequest request) =>
        HsdsEndpoints.GetService(request, directory);

    [Function("HsdsListOrganizations")]
    public IResult ListOrganizations([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/hsds/organizations")] HttpRequest request) =>
        HsdsEndpoints.ListOrganizations(request, directory);

    [Function("HsdsGetOrganization")]
    public IResult GetOrganization([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/hsds/organizations/{id}")] HttpRequest request) =>
        HsdsEndpoints.GetOrganization(request, directory);

    [Function("HsdsListTaxonomies")]
    public IResult ListTaxonomies([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/hsds/taxonomies")] HttpRequest request) =>
        HsdsEndpoints.ListTaxonomies(request, directory);

    [Function("HsdsGetTaxonomy")]
    public IResult GetTaxonomy([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/hsds/taxonomies/{id}")] HttpRequest request) =>
        HsdsEndpoints.GetTaxonomy(request, directory);

    [Function("HsdsListTaxonomyTerms")]
    public IResult ListTerms([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/hsds/taxonomy_terms")] HttpRequest request) =>
        HsdsEndpoints.ListTerms(request, directory);

    [Function("HsdsGetTaxonomyTerm")]
    public IResult GetTerm([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/hsds/taxonomy_terms/{id}")] HttpRequest request) =>
        HsdsEndpoints.GetTerm(request, directory);

    [Function("HsdsDataPackage")]
    public static IResult DataPackage([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/hsds/datapackage.json")] HttpRequest request) =>
        HsdsEndpoints.DataPackage();

    [Function("HsdsDataPackageZip")]
    public IResult DataPackageZip([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/hsds/datapackage.zip")] HttpRequest request) =>
        HsdsEndpoints.DataPackageZip(directory);

    [Function("HsdsTable")]
    public IResult Table([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/hsds/{table}.csv")] HttpRequest request) =>
        HsdsEndpoints.Table(request, directory);
}
