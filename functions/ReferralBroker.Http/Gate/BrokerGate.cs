using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using ReferralBroker.Hosting;
using ReferralBroker.Http;
using ReferralBroker.Pages;
using ReferralBroker.Status;

namespace ReferralBroker.Gate;

/// <summary>
/// What every request passes through, in either hosting: security headers, the client's language, the route's
/// access rule (keys, per-address rate limits, the guessing budget), and an exception turned into a problem that
/// says nothing about it. The embedded host runs it from one middleware, the Functions worker from one worker
/// middleware; both hand it the handler and execute what it answers instead, if anything.
/// </summary>
internal sealed partial class BrokerGate(Callers callers, GuessingBudget budget, IOptions<BrokerOptions> options, ILogger<BrokerGate> logger)
    : IDisposable
{
    private readonly PartitionedRateLimiter<string> _status = PerAddress(options.Value.RateLimits.StatusPerMinute);
    private readonly PartitionedRateLimiter<string> _partner = PerAddress(options.Value.RateLimits.PartnerPerMinute);

    /// <summary>
    /// Runs <paramref name="handler"/> (which answers the status code it gave) unless the rule refuses the request.
    /// </summary>
    /// <returns>The answer to send instead of the handler's (a refusal or a failure), or null when the handler answered.</returns>
    public async Task<IResult?> PassAsync(HttpContext context, Access access, Func<Task<int>> handler)
    {
        SecurityHeaders.Apply(context.Response);
        ClientLanguages.Apply(context.Request);
        try
        {
            if (Refusal(context, access) is { } refusal)
            {
                return refusal;
            }

            var status = await handler();
            if (status == StatusCodes.Status404NotFound && IsGuessable(access))
            {
                budget.RecordMiss(Address(context));
            }

            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException && !context.Response.HasStarted)
        {
            context.Response.Clear();
            if (e is BadHttpRequestException bad)
            {
                // A request that breaks HTTP itself (bad chunking, a body shorter than announced) is the client's error.
                return Problems.BadRequest(bad.StatusCode);
            }

            // The type only: an exception's message can quote what it was handed.
            LogFailed(logger, e.GetType().Name);
            return Problems.Failed();
        }
    }

    /// <summary>The status code of a handler's result, before it is written (the worker's invocation result).</summary>
    public static int StatusOf(object? result) =>
        (result is INestedHttpResult nested ? nested.Result : result) is IStatusCodeHttpResult { StatusCode: { } status }
            ? status
            : StatusCodes.Status200OK;

    public void Dispose()
    {
        _status.Dispose();
        _partner.Dispose();
    }

    private IResult? Refusal(HttpContext context, Access access)
    {
        switch (access)
        {
            case Access.Organisation:
                var organisation = Callers.BearerKey(context.Request) is { } key ? callers.Organisation(key) : null;
                if (organisation is null)
                {
                    return Problems.Unauthorized(context.Response, "Send your organisation's API key as 'Authorization: Bearer <key>'.");
                }

                context.User = organisation;
                return null;
            case Access.Coordinator:
                var coordinatorKey = Callers.BearerKey(context.Request);
                if (coordinatorKey is not null && callers.IsCoordinator(coordinatorKey))
                {
                    context.User = Callers.Coordinator();
                    return null;
                }

                // An organisation's key is recognised only to be told "not yours" rather than "who are you?".
                return coordinatorKey is not null && callers.Organisation(coordinatorKey) is not null
                    ? Problems.Forbidden("Only the network coordinator may use the admin API.")
                    : Problems.Unauthorized(context.Response, "Send the network coordinator's key as 'Authorization: Bearer <key>'.");
            case Access.Partner:
                return Limited(context, _partner, access);
            case Access.ClientStatus or Access.ClientStatusPage:
                return Limited(context, _status, access);
            default:
                return null;
        }
    }

    private IResult? Limited(HttpContext context, PartitionedRateLimiter<string> limiter, Access access)
    {
        var address = Address(context);
        using var lease = limiter.AttemptAcquire(address);
        var wait = lease.IsAcquired
            ? budget.WaitFor(address)
            : lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromMinutes(1);
        if (wait is not { } retry)
        {
            return null;
        }

        // Retry-After is set either way: the page needs it as much as the problem does.
        var problem = Problems.TooManyRequests(context, retry);
        return access == Access.ClientStatusPage ? StatusPageEndpoints.TooManyRequests(context) : problem;
    }

    private static bool IsGuessable(Access access) => access is Access.Partner or Access.ClientStatus or Access.ClientStatusPage;

    /// <summary>Partitions limits in memory only; the address is never stored beyond the minute or logged.</summary>
    private static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    private static PartitionedRateLimiter<string> PerAddress(int permits) =>
        PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(
            address, _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));

    [LoggerMessage(Level = LogLevel.Error, Message = "A request failed ({Error}); answered 500 without details")]
    private static partial void LogFailed(ILogger logger, string error);
}

/// <summary>The embedded host's side of the gate: one middleware, reading the rule from the endpoint's metadata.</summary>
internal static class EmbeddedGate
{
    /// <summary>After routing, so the endpoint and its rule are known; requests that match none pass as <see cref="Access.Anyone"/>.</summary>
    public static IApplicationBuilder UseBrokerGate(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var gate = context.RequestServices.GetRequiredService<BrokerGate>();
        var access = context.GetEndpoint()?.Metadata.GetMetadata<GateAttribute>()?.Access ?? Access.Anyone;
        if (await gate.PassAsync(context, access, async () =>
            {
                await next(context);
                return context.Response.StatusCode;
            }) is { } answer)
        {
            await answer.ExecuteAsync(context);
        }
    });

    public static TBuilder RequireAccess<TBuilder>(this TBuilder builder, Access access)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new GateAttribute(access));
}
