using ReferralBroker.Admin;
using ReferralBroker.Embedded;
using ReferralBroker.Gate;
using ReferralBroker.Hosting;
using ReferralBroker.Hsds;
using ReferralBroker.Pages;
using ReferralBroker.Partners;
using ReferralBroker.Referrals;
using ReferralBroker.Reports;
using ReferralBroker.Status;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = args,
    // Settings, pages and scripts ship next to the binary, so any working directory finds them (./.data stays
    // relative to it).
    ContentRootPath = AppContext.BaseDirectory,
    WebRootPath = Path.Combine(AppContext.BaseDirectory, "wwwroot"),
});
builder.WebHost.UseBrokerUrls(builder.Configuration);
builder.Services.AddBroker(builder.Configuration).AddEmbeddedAdapters().AddBrokerOpenApi();

var app = builder.Build();

// Only for what matches no route (404, 405): every answer of the broker's own is written by its handler or the gate.
app.UseStatusCodePages();
app.UseRouting();
app.UseBrokerGate();

app.MapPages();
app.MapReferrals();
app.MapPartners();
app.MapHsds();
app.MapStatus();
app.MapAdmin();
app.MapStaff();
app.MapReports();
app.MapBrokerOpenApi();
app.MapDevelopmentMailbox();
app.Run();

/// <summary>Entry point, visible to the integration tests' WebApplicationFactory.</summary>
public partial class Program;
