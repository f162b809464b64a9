using System.Reflection;
using Microsoft.Azure.Functions.Worker.Middleware;
using ReferralBroker.Gate;

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

    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        var http = context.GetHttpContext() ?? throw new InvalidOperationException("An HTTP function without its HttpContext.");
        var invocation = context.GetInvocationResult();
        if (await gate.PassAsync(http, rules.For(context.FunctionDefinition.Name), async () =>
            {
                await next(context);
                return BrokerGate.StatusOf(invocation.Value);
            }) is { } answer)
        {
            invocation.Value = answer;
        }
    }
}

/// <summary>Every function's access rule, read once from the attributes: a function without one cannot be called.</summary>
internal sealed class FunctionRules
{
    private readonly Dictionary<string, Access> _rules = (
        from type in typeof(FunctionRules).Assembly.GetTypes()
        from method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
        let function = method.GetCustomAttribute<FunctionAttribute>()
        let rule = method.GetCustomAttribute<GateAttribute>() ?? type.GetCustomAttribute<GateAttribute>()
        where function is not null && rule is not null
        select (function.Name, rule.Access)).ToDictionary(f => f.Name, f => f.Access);

    public Access For(string function) => _rules.TryGetValue(function, out var access)
        ? access
        : throw new InvalidOperationException($"Function {function} has no [Gate] rule.");
}

internal static class WorkerGateServices
{
    public static IServiceCollection AddWorkerGate(this IServiceCollection services) => services.AddSingleton<FunctionRules>();
}
