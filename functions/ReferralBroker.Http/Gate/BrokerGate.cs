using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using ReferralBroker.Hosting;
using ReferralBroker.Http;
using ReferralBroker.Pages;
using ReferralBroker.Referrals;
using ReferralBroker.Status;

namespace ReferralBroker.Gate;

/// <summary>
/// What every request passes through, in either hosting: security headers, the client's language, the route's
/// access rule (keys, per-address rate limits, the guessing budget), and an exception turned into a problem that
/// says nothing about it. The embedded host runs it from one middleware, the Functions worker from one worker
/// middleware; both hand it the handler and execute what it answers instead, if anything.
/// </summary>
internal sealed partial class BrokerGate(Callers callers, StaffKeyUses uses, GuessingBudgets budgets, IOptions<BrokerOptions> options, ILogger<BrokerGate> logger)
    : IDisposable
{
    /// <summary>
    /// An IPv6 site's /48 may ask for this many callers' worth: it is often one household's or office's, or a mobile
    /// network's, with many /64s of different people behind it, as many people share one IPv4 address behind NAT.
    /// </summary>
    private const int CallersPerSite = 4;

    private readonly PartitionedRateLimiter<string> _status = PerCaller(options.Value.RateLimits.StatusPerMinute);
    private readonly PartitionedRateLimiter<string> _partner = PerCaller(options.Value.RateLimits.PartnerPerMinute);
    private readonly PartitionedRateLimiter<string> _submissions = PerOrganisation(options.Value.RateLimits.SubmissionsPerMinute);
    private readonly PartitionedRateLimiter<string> _flags = PerOrganisation(options.Value.RateLimits.FlagsPerMinute);

    /// <summary>
    /// Runs <paramref name="handler"/> (which answers the status code it gave) unless the rule refuses the request.
    /// </summary>
    /// <returns>The answer to send instead of the handler's (a refusal or a failure), or null when the handler answered.</returns>
    public async Task<IResult?> PassAsync(HttpContext context, GateAttribute rule, Func<Task<int>> handler)
    {
        var access = rule.Access;
        SecurityHeaders.Apply(context.Response);
        ClientLanguages.Apply(context.Request);
        try
        {
            if (Refusal(context, rule) is { } refusal)
            {
                return refusal;
            }

            // A miss is counted before its answer leaves: counted after, a guesser firing its next guess the moment
            // it reads a 404 could be judged before its last miss was, and get more than the budget.
            var counted = false;
            void CountMiss(int status)
            {
                if (!counted && status == StatusCodes.Status404NotFound && IsGuessable(access))
                {
                    counted = true;
                    budgets.For(access).RecordMiss(CallerPartition.Of(context.Connection.RemoteIpAddress));
                }
            }

            if (IsGuessable(access))
            {
                context.Response.OnStarting(() =>
                {
                    CountMiss(context.Response.StatusCode);
                    return Task.CompletedTask;
                });
            }

            CountMiss(await handler());

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
        _submissions.Dispose();
        _flags.Dispose();
    }

    private IResult? Refusal(HttpContext context, GateAttribute rule)
    {
        var access = rule.Access;
        switch (access)
        {
            case Access.Organisation:
                if (Identify(context) is not { Kind: Callers.OrganisationKind or Callers.CaseworkerKind } member)
                {
                    return Problems.Unauthorized(context.Response,
                        "Send your organisation's API key or your own staff key as 'Authorization: Bearer <key>'.");
                }

                Admit(context, member);
                return rule.Limit switch
                {
                    OrganisationLimit.Submissions => Spent(context, _submissions),
                    OrganisationLimit.Flags => Spent(context, _flags),
                    _ => null,
                };
            case Access.OrganisationSystem:
                switch (Identify(context))
                {
                    case { Kind: Callers.OrganisationKind } organisation:
                        Admit(context, organisation);
                        return null;
                    case { Kind: Callers.CaseworkerKind }:
                        return Problems.Forbidden("Only your organisation's own API key manages its staff keys; ask whoever holds it, or the network coordinator.");
                    default:
                        return Problems.Unauthorized(context.Response, "Send your organisation's API key as 'Authorization: Bearer <key>'.");
                }

            case Access.Coordinator:
                switch (Identify(context))
                {
                    case { Kind: Callers.CoordinatorKind } coordinator:
                        Admit(context, coordinator);
                        return null;
                    case not null:
                        // An organisation's or caseworker's key is recognised only to be told "not yours" rather than "who are you?".
                        return Problems.Forbidden("Only the network coordinator may use the admin API.");
                    default:
                        return Problems.Unauthorized(context.Response, "Send the network coordinator's key as 'Authorization: Bearer <key>'.");
                }

            case Access.Staff:
                if (Identify(context) is not { } caller)
                {
                    return Problems.Unauthorized(context.Response, "Send your staff key or your organisation's API key as 'Authorization: Bearer <key>'.");
                }

                Admit(context, caller);
                return null;
            case Access.Partner:
                return Limited(context, _partner, access);
            case Access.ClientStatus or Access.ClientStatusPage:
                return Limited(context, _status, access);
            default:
                return null;
        }
    }

    private Caller? Identify(HttpContext context) => Callers.BearerKey(context.Request) is { } key ? callers.Identify(key) : null;

    /// <summary>The request acts as the caller; a personal key's use is handed over to be recorded, never awaited.</summary>
    private void Admit(HttpContext context, Caller caller)
    {
        context.User = caller.Principal;
        if (caller.Staff is { } credential)
        {
            uses.Seen(credential);
        }
    }

    private IResult? Limited(HttpContext context, PartitionedRateLimiter<string> limiter, Access access)
    {
        var caller = CallerPartition.Of(context.Connection.RemoteIpAddress);
        var wait = Acquire(limiter, caller.Caller)
            ?? (caller.Site is { } site ? Acquire(limiter, site) : null)
            ?? budgets.For(access).WaitFor(caller);
        if (wait is not { } retry)
        {
            return null;
        }

        // Retry-After is set either way: the page needs it as much as the problem does.
        var problem = Problems.TooManyRequests(context, retry);
        return access == Access.ClientStatusPage ? StatusPageEndpoints.TooManyRequests(context) : problem;
    }

    /// <summary>
    /// After the key is known: the organisation's budget, never an address's, so organisations behind one NAT do not
    /// share one and a leaked key is held to its organisation's pace from any number of addresses.
    /// </summary>
    private static ProblemHttpResult? Spent(HttpContext context, PartitionedRateLimiter<string> limiter) =>
        Acquire(limiter, context.User.FindFirstValue(Callers.OrganisationIdClaim)!) is { } retry ? Problems.TooManyRequests(context, retry) : null;

    /// <returns>How long to wait, or null when a permit was taken.</returns>
    private static TimeSpan? Acquire(PartitionedRateLimiter<string> limiter, string partition)
    {
        using var lease = limiter.AttemptAcquire(partition);
        return lease.IsAcquired ? null
            : lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromMinutes(1);
    }

    private static bool IsGuessable(Access access) => access is Access.Partner or Access.ClientStatus or Access.ClientStatusPage;

    /// <summary>Partitions limits in memory only; the address is never stored beyond the minute or logged.</summary>
    private static PartitionedRateLimiter<string> PerCaller(int permits) =>
        PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetFixedWindowLimiter(
            key, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = CallerPartition.IsSite(key) ? (int)Math.Min(int.MaxValue, (long)permits * CallersPerSite) : permits,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
            }));

    /// <summary>
    /// A token bucket: a burst of the whole minute's permits, then one permit every (minute / permits), so a busy
    /// drop-in centre is never made to wait a whole minute, and a flood gets the steady pace and no more.
    /// </summary>
    private static PartitionedRateLimiter<string> PerOrganisation(int permits)
    {
        var perPeriod = Math.Max(1, permits / 60);
        return PartitionedRateLimiter.Create<string, string>(organisation => RateLimitPartition.GetTokenBucketLimiter(
            organisation, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = permits,
                TokensPerPeriod = perPeriod,
                ReplenishmentPeriod = TimeSpan.FromMinutes(1) * perPeriod / permits,
                QueueLimit = 0,
            }));
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A request failed ({Error}); answered 500 without details")]
    private static partial void LogFailed(ILogger logger, string error);
}

/// <summary>The embedded host's side of the gate: one middleware, reading the rule from the endpoint's metadata.</summary>
internal static class EmbeddedGate
{
    private static readonly GateAttribute NoRule = new(Access.Anyone);

    /// <summary>
    /// After routing, so the endpoint and its rule are known; requests that match none pass as <see cref="Access.Anyone"/>.
    /// First the configured proxies' forwarded headers (<see cref="TrustedProxies"/>), so the gate counts the client.
    /// </summary>
    public static IApplicationBuilder UseBrokerGate(this IApplicationBuilder app) => app.Use(next =>
    {
        // Read as the pipeline is built, when the host starts: after the settings were validated.
        TrustedProxies.RefuseTrustingEveryone(app.ApplicationServices.GetRequiredService<IConfiguration>());
        var settings = app.ApplicationServices.GetRequiredService<IOptions<BrokerOptions>>().Value.ForwardedHeaders;
        return TrustedProxies.For(settings) is { } forwarded
            ? new ForwardedHeadersMiddleware(next, app.ApplicationServices.GetRequiredService<ILoggerFactory>(), Options.Create(forwarded)).Invoke
            : next;
    }).Use(async (context, next) =>
    {
        var gate = context.RequestServices.GetRequiredService<BrokerGate>();
        var rule = context.GetEndpoint()?.Metadata.GetMetadata<GateAttribute>() ?? NoRule;
        if (await gate.PassAsync(context, rule, async () =>
            {
                await next(context);
                return context.Response.StatusCode;
            }) is { } answer)
        {
            await answer.ExecuteAsync(context);
        }
    });

    /// <summary>On a group or on one endpoint: the endpoint's own rule is read before its group's.</summary>
    public static TBuilder RequireAccess<TBuilder>(this TBuilder builder, Access access, OrganisationLimit limit = OrganisationLimit.None)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new GateAttribute(access) { Limit = limit });
}
