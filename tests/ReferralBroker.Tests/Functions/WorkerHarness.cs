using System.Collections.Immutable;
using System.Net;
using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using ReferralBroker.Embedded;
using ReferralBroker.Functions;

namespace ReferralBroker.Tests.Functions;

/// <summary>
/// The Functions project without its host (Core Tools cannot run here): its own composition with only the edges
/// swapped (SQLite, outbox and a fake clock in place of Table Storage, Service Bus and SendGrid), and each request
/// routed by the generated functions.metadata to its function class, invoked through the worker's gate middleware
/// with a real <see cref="DefaultHttpContext"/>, its result then executed as the worker's ASP.NET Core integration does.
/// </summary>
internal sealed class WorkerHarness : IDisposable
{
    private readonly ServiceProvider _services;
    private readonly IReadOnlyList<IHostedService> _hosted;
    private readonly IReadOnlyList<(FunctionEntry Function, TemplateMatcher Matcher)> _routes;

    /// <param name="edges">Registered first: services the composition only adds when absent (a telemetry channel).</param>
    public WorkerHarness(IReadOnlyDictionary<string, string?> settings, FakeTimeProvider time, Action<IServiceCollection>? edges = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace))
            // What the Functions host registers: in Azure the worker runs in Production.
            .AddSingleton<IHostEnvironment>(new HostingEnvironment { EnvironmentName = Environments.Production, ApplicationName = "ReferralBroker.Functions" });
        edges?.Invoke(services);
        services.AddBrokerFunctions(configuration);
        // The edges: everything behind the ports, and the clock.
        services.AddEmbeddedAdapters();
        services.AddSingleton<TimeProvider>(time);
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
        // What the worker's host does at start: validate the settings, start the hosted services (the directory load).
        _services.GetService<Microsoft.Extensions.Options.IStartupValidator>()?.Validate();
        _hosted = [.. _services.GetServices<IHostedService>()];
        foreach (var service in _hosted)
        {
            service.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        }

        _routes = [.. FunctionsMetadata.Read().Where(f => f.Trigger == "httpTrigger")
            .Select(f => (f, new TemplateMatcher(TemplateParser.Parse(f.Route!), [])))];
    }

    public IServiceProvider Services => _services;

    /// <summary>
    /// The Azure settings pass validation at start as in Azure; the adapters they configure are swapped out, so
    /// nothing is ever called at these addresses.
    /// </summary>
    public static Dictionary<string, string?> WithUnusedAzureSettings(Dictionary<string, string?> settings)
    {
        settings["Broker:Azure:Tables:Endpoint"] = "https://unused.table.core.windows.net";
        settings["Broker:Azure:ServiceBus:FullyQualifiedNamespace"] = "unused.servicebus.windows.net";
        settings["Broker:Azure:SendGrid:ApiKey"] = "SG.unused";
        settings["Broker:Azure:SendGrid:FromEmail"] = "referrals@broker.test";
        return settings;
    }

    /// <summary>One request, answered as the worker would answer it.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, IPAddress? from = null)
    {
        await using var scope = _services.CreateAsyncScope();
        var response = new StartingResponseFeature();
        var body = new MemoryStream();
        var http = new DefaultHttpContext();
        http.Features.Set<IHttpResponseFeature>(response);
        http.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(body));
        http.RequestServices = scope.ServiceProvider;
        http.Connection.RemoteIpAddress = from ?? IPAddress.Loopback;
        http.Request.Method = request.Method.Method;
        http.Request.Path = request.RequestUri!.IsAbsoluteUri ? request.RequestUri.AbsolutePath : request.RequestUri.OriginalString.Split('?')[0];
        var query = request.RequestUri.IsAbsoluteUri ? request.RequestUri.Query : request.RequestUri.OriginalString.Contains('?') ? "?" + request.RequestUri.OriginalString.Split('?', 2)[1] : "";
        http.Request.QueryString = new QueryString(query.Length > 0 ? query : null);
        foreach (var (name, values) in request.Headers)
        {
            http.Request.Headers[name] = values.ToArray();
        }

        if (request.Content is { } content)
        {
            foreach (var (name, values) in content.Headers)
            {
                http.Request.Headers[name] = values.ToArray();
            }

            var bytes = await content.ReadAsByteArrayAsync();
            http.Request.Body = new MemoryStream(bytes);
            http.Request.ContentLength ??= bytes.Length;
        }

        var function = Route(http.Request);
        var context = new TestFunctionContext(function, scope.ServiceProvider);
        context.Items["HttpRequestContext"] = http;
        object? result = null;
        var gate = ActivatorUtilities.CreateInstance<WorkerGate>(_services);
        await gate.PassAsync(context, async _ => result = await InvokeAsync(function, scope.ServiceProvider, http.Request),
            () => result, answer => result = answer);
        await ((IResult)result!).ExecuteAsync(http);
        await response.StartAsync();

        var answer = new HttpResponseMessage((HttpStatusCode)http.Response.StatusCode) { Content = new ByteArrayContent(body.ToArray()) };
        foreach (var (name, values) in http.Response.Headers)
        {
            if (!answer.Headers.TryAddWithoutValidation(name, values.ToArray()))
            {
                answer.Content.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
        }

        return answer;
    }

    public void Dispose()
    {
        foreach (var service in _hosted)
        {
            service.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        }

        // The worker's telemetry module disposes only asynchronously.
        _services.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>The one function whose route and method take this request, as the host's routing would pick it.</summary>
    private FunctionEntry Route(HttpRequest request)
    {
        var matches = _routes.Where(r => r.Function.Methods.Contains(request.Method)).Select(r =>
        {
            var values = new RouteValueDictionary();
            return r.Matcher.TryMatch(request.Path, values) ? (r.Function, values) : default;
        }).Where(m => m.Function is not null).ToList();
        var (function, routeValues) = Assert.Single(matches);
        request.RouteValues = routeValues;
        return function;
    }

    /// <summary>The method named by the metadata's entry point, on an instance activated from DI as the worker does.</summary>
    private static async Task<object?> InvokeAsync(FunctionEntry function, IServiceProvider services, HttpRequest request)
    {
        var split = function.EntryPoint.LastIndexOf('.');
        var type = typeof(WorkerGate).Assembly.GetType(function.EntryPoint[..split], throwOnError: true)!;
        var method = type.GetMethod(function.EntryPoint[(split + 1)..], BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)!;
        var target = method.IsStatic ? null : ActivatorUtilities.CreateInstance(services, type);
        object?[] arguments = [.. method.GetParameters().Select(p => p.ParameterType == typeof(CancellationToken) ? (object)CancellationToken.None : request)];
        var returned = method.Invoke(target, arguments);
        return returned is Task task ? await AwaitResultAsync(task) : returned;
    }

    private static async Task<object?> AwaitResultAsync(Task task)
    {
        await task;
        return task.GetType().GetProperty("Result")?.GetValue(task);
    }

    /// <summary>DefaultHttpContext ignores OnStarting; a server runs the callbacks before the headers go out.</summary>
    private sealed class StartingResponseFeature : HttpResponseFeature
    {
        private readonly List<(Func<object, Task> Callback, object State)> _starting = [];

        public override void OnStarting(Func<object, Task> callback, object state) => _starting.Add((callback, state));

        public async Task StartAsync()
        {
            for (var i = _starting.Count - 1; i >= 0; i--)
            {
                await _starting[i].Callback(_starting[i].State);
            }
        }
    }

    private sealed class TestFunctionContext(FunctionEntry function, IServiceProvider services) : FunctionContext
    {
        public override string InvocationId { get; } = Guid.NewGuid().ToString();
        public override string FunctionId => function.Name;
        public override TraceContext TraceContext => throw new NotSupportedException();
        public override BindingContext BindingContext => throw new NotSupportedException();
        public override RetryContext RetryContext => throw new NotSupportedException();
        public override IServiceProvider InstanceServices { get; set; } = services;
        public override FunctionDefinition FunctionDefinition { get; } = new TestFunctionDefinition(function);
        public override IDictionary<object, object> Items { get; set; } = new Dictionary<object, object>();
        public override IInvocationFeatures Features => throw new NotSupportedException();
    }

    private sealed class TestFunctionDefinition(FunctionEntry function) : FunctionDefinition
    {
        public override ImmutableArray<FunctionParameter> Parameters => [];
        public override string PathToAssembly => typeof(WorkerGate).Assembly.Location;
        public override string EntryPoint => function.EntryPoint;
        public override string Id => function.Name;
        public override string Name => function.Name;
        public override IImmutableDictionary<string, BindingMetadata> InputBindings { get; } =
            ImmutableDictionary<string, BindingMetadata>.Empty.Add("request", new TestBinding("request", function.Trigger));
        public override IImmutableDictionary<string, BindingMetadata> OutputBindings => ImmutableDictionary<string, BindingMetadata>.Empty;
    }

    private sealed class TestBinding(string name, string type) : BindingMetadata
    {
        public override string Name => name;
        public override string Type => type;
        public override BindingDirection Direction => BindingDirection.In;
    }
}
