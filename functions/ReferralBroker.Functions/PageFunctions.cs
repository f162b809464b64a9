using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;
using ReferralBroker.Gate;
using ReferralBroker.Hosting;
using ReferralBroker.Pages;

namespace ReferralBroker.Functions;

/// <summary>
/// The human pages and their assets (<see cref="PageEndpoints"/>). The home page at "/" has no function: the
/// Functions host keeps the root for itself.
/// </summary>
[Gate(Access.Anyone)]
internal sealed class PageFunctions(IStringLocalizer<ClientText> text, IStringLocalizer<ReferText> referText, IOptions<BrokerOptions> options)
{
    [Function("ReportsPage")]
    public static IResult Reports([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "reports")] HttpRequest request) =>
        PageEndpoints.Reports(request.HttpContext);

    [Function("PartnerPage")]
    public static IResult Partner([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "partner/{referralId}")] HttpRequest request) =>
        PageEndpoints.Partner(request.HttpContext);

    [Function("ReferPage")]
    public IResult Refer([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "refer")] HttpRequest request) =>
        PageEndpoints.Refer(request.HttpContext, text, referText, options);

    [Function("ReferralsPage")]
    public static IResult Referrals([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "referrals")] HttpRequest request) =>
        PageEndpoints.Referrals(request.HttpContext);

    [Function("AdminPage")]
    public static IResult Admin([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "admin")] HttpRequest request) =>
        PageEndpoints.Admin(request.HttpContext);

    [Function("Assets")]
    public static IResult Asset([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "assets/{file}")] HttpRequest request) =>
        PageEndpoints.Asset(request);
}
