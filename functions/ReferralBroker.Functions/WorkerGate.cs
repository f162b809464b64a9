using System.Reflection;
using Microsoft.Azure.Functions.Worker.Middleware;
using ReferralBroker.Azure;
using ReferralBroker.Gate;
using ReferralBroker.Hosting;

namespace ReferralBroker.Functions;

/// <summary>
/// The worker's side of the gate: ASP.NET Core middleware and endpoint filters do not run in the worker's fixed
/// pipeline, so the one shared <see cref="BrokerGate"/> runs here around each HTTP invocation, with the rule read
/// from the <see cref="GateAttribute"/> of the function's method or class.
/// </summary>
internal sealed class WorkerGate(BrokerGate gate, FunctionRules rules) : IFunctionsWorkerMiddleware
{
    public static bool AppliesTo(FunctionContext context) =>
        context.FunctionDefinition.InputBindings.Values.Any(b => b.Type == "httpTrigger");

    public Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        var invocation = context.GetInvocationResult();
        return PassAsync(context, next, () => invocation.Value, answer => invocation.Value = answer);
    }

    /// <summary>
    /// The invocation through the gate; the result is read and replaced through <paramref name="result"/> and
    /// <paramref name="answer"/> (the worker keeps it behind an internal feature, which a test cannot supply).
    /// </summary>
    public async Task PassAsync(FunctionContext context, FunctionExecutionDelegate next, Func<object?> result, Action<IResult> answer)
    {
        var http = context.GetHttpContext() ?? throw new InvalidOperationException("An HTTP function without its HttpContext.");
        if (await gate.PassAsync(http, rules.For(context.FunctionDefinition.Name), async () =>
            {
                await next(context);
                return BrokerGate.StatusOf(result());
            }) is { } refusal)
        {
            answer(refusal);
        }
    }
}

/// <summary>Every function's access rule, read once from the attributes: a function without one cannot be called.</summary>
internal sealed class FunctionRules
{
    private readonly Dictionary<string, GateAttribute> _rules = (
        from type in typeof(FunctionRules).Assembly.GetTypes()
        from method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
        let function = method.GetCustomAttribute<FunctionAttribute>()
        let rule = method.GetCustomAttribute<GateAttribute>() ?? type.GetCustomAttribute<GateAttribute>()
        where function is not null && rule is not null
        select (function.Name, rule)).ToDictionary(f => f.Name, f => f.rule);

    public GateAttribute For(string function) => _rules.TryGetValue(function, out var rule)
        ? rule
        : throw new InvalidOperationException($"Function {function} has no [Gate] rule.");
}

internal static class FunctionsServices
{
    /// <summary>The worker's services: the shared handlers and gate, the Azure adapters, the functions' rules.</summary>
    public static IServiceCollection AddBrokerFunctions(this IServiceCollection services, IConfiguration configuration) =>
        services.AddBroker(configuration).AddAzureAdapters(configuration).AddPrivateTelemetry().AddSingleton<FunctionRules>();
}
