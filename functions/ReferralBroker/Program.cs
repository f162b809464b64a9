using Microsoft.AspNetCore.HttpOverrides;
using ReferralBroker.Admin;
using ReferralBroker.Azure;
using ReferralBroker.Embedded;
using ReferralBroker.Hosting;
using ReferralBroker.Pages;
using ReferralBroker.Partners;
using ReferralBroker.Referrals;
using ReferralBroker.Reports;
using ReferralBroker.Status;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = args,
    // Settings, pages and scripts ship next to the binary, so any working directory (./.data stays relative to
    // it) or a Functions host finds them.
    ContentRootPath = AppContext.BaseDirectory,
    WebRootPath = Path.Combine(AppContext.BaseDirectory, "wwwroot"),
});
var azure = AzureHosting.IsAzure(builder.Configuration);
builder.WebHost.UseBrokerUrls(builder.Configuration).UseCustomHandlerPort(builder.Configuration);
builder.Services.AddBroker(builder.Configuration);
if (azure)
{
    builder.Services.AddAzureAdapters(builder.Configuration);
}
else
{
    builder.Services.AddEmbeddedAdapters();
}


var app = builder.Build();
if (azure)
{
    // Behind the Functions host every request comes from loopback; rate limits need the caller's address.
    app.UseForwardedHeaders(new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor });
}

app.UseSecurityHeaders();
// A request body that breaks HTTP itself (bad chunking, a body shorter than announced) is the client's error.
app.UseExceptionHandler(new ExceptionHandlerOptions
{
    StatusCodeSelector = e => e is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
});
app.UseStatusCodePages();
app.UseStaticFiles();
app.UseClientLanguages();
app.UseRateLimiter();
app.UseAuthentication();
app.UseAuthorization();

app.MapPages();
app.MapReferrals();
app.MapPartners();
app.MapStatus();
app.MapAdmin();
app.MapReports();
if (azure)
{
    app.MapFunctionInvocations();
}

app.Run();

/// <summary>Entry point, visible to the integration tests' WebApplicationFactory.</summary>
public partial class Program;
