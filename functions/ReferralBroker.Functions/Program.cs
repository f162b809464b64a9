using Microsoft.Azure.Functions.Worker.Builder;

namespace ReferralBroker.Functions;

/// <summary>The worker: the shared handlers and gate, the Azure adapters, the functions of this assembly.</summary>
internal static class Program
{
    public static void Main(string[] args)
    {
        var builder = FunctionsApplication.CreateBuilder(args);
        builder.ConfigureFunctionsWebApplication();
        builder.UseWhen<WorkerGate>(WorkerGate.AppliesTo);
        builder.Services.AddBrokerFunctions(builder.Configuration);
        builder.Build().Run();
    }
}
