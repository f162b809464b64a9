using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ReferralBroker.Azure.Tests.ServiceBus;

/// <summary>What a stub received, kept so tests can check it after the call.</summary>
internal sealed record StubRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    public string BodyText => Encoding.UTF8.GetString(Body);
}

internal sealed record StubResponse(int Status, byte[]? Body = null, IReadOnlyDictionary<string, string>? Headers = null);

/// <summary>
/// A local HTTP server on 127.0.0.1 and a free port that answers through a handler and records every request.
/// HttpListener rather than Kestrel keeps the test project free of an ASP.NET framework reference. Also used by
/// the SendGrid tests.
/// </summary>
internal sealed class HttpStub : IDisposable
{
    private readonly HttpListener _listener;
    private readonly Func<StubRequest, StubResponse> _handler;
    private readonly List<StubRequest> _requests = [];
    private readonly Lock _gate = new();
    private readonly Task _loop;

    private HttpStub(HttpListener listener, Uri baseUri, Func<StubRequest, StubResponse> handler)
    {
        _listener = listener;
        _handler = handler;
        BaseUri = baseUri;
        _loop = Task.Run(LoopAsync);
    }

    public Uri BaseUri { get; }

    public IReadOnlyList<StubRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>Exceptions the handler threw; each was answered with 500.</summary>
    public List<Exception> HandlerErrors { get; } = [];

    public static HttpStub Start(Func<StubRequest, StubResponse> handler)
    {
        // Port 0 is not available to HttpListener: borrow a free port from the OS and retry if someone took it meanwhile.
        for (var attempt = 0; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();

            var baseUri = new Uri($"http://127.0.0.1:{port}/");
            var listener = new HttpListener();
            listener.Prefixes.Add(baseUri.AbsoluteUri);
            try
            {
                listener.Start();
                return new HttpStub(listener, baseUri, handler);
            }
            catch (HttpListenerException) when (attempt < 10)
            {
                listener.Close();
            }
        }
    }

    private async Task LoopAsync()
    {
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            await HandleAsync(context);
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        using var body = new MemoryStream();
        await context.Request.InputStream.CopyToAsync(body);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in context.Request.Headers.AllKeys.OfType<string>())
        {
            headers[name] = context.Request.Headers[name] ?? string.Empty;
        }

        var request = new StubRequest(
            context.Request.HttpMethod, context.Request.Url!.AbsolutePath, context.Request.Url.Query, headers, body.ToArray());
        lock (_gate)
        {
            _requests.Add(request);
        }

        StubResponse response;
        try
        {
            response = _handler(request);
        }
        catch (Exception ex)
        {
            lock (_gate)
            {
                HandlerErrors.Add(ex);
            }

            response = new StubResponse(500);
        }

        context.Response.StatusCode = response.Status;
        foreach (var (name, value) in response.Headers ?? new Dictionary<string, string>())
        {
            context.Response.Headers[name] = value;
        }

        var content = response.Body ?? [];
        context.Response.ContentLength64 = content.Length;
        if (content.Length > 0)
        {
            await context.Response.OutputStream.WriteAsync(content);
        }

        context.Response.Close();
    }

    public void Dispose()
    {
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }
}
