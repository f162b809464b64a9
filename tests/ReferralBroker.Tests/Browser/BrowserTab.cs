using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace ReferralBroker.Tests.Browser;

/// <summary>
/// One browser context with one page, recording what a network observer would see of it: every request's method,
/// URL, headers and body, and the page's script errors (a CSP refusal shows up there too).
/// </summary>
public sealed class BrowserTab : IAsyncDisposable
{
    private readonly ConcurrentQueue<SentRequest> _requests = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly ConcurrentQueue<ReceivedResponse> _responses = new();

    private BrowserTab(IBrowserContext context) => Context = context;

    public IBrowserContext Context { get; }
    public IPage Page { get; private set; } = null!;
    public IReadOnlyCollection<SentRequest> Requests => _requests;
    public IReadOnlyCollection<string> Errors => _errors;
    public IReadOnlyCollection<ReceivedResponse> Responses => _responses;

    public static async Task<BrowserTab> OpenAsync(IBrowser browser, BrowserNewContextOptions? options)
    {
        var tab = new BrowserTab(await browser.NewContextAsync(options));
        tab.Context.SetDefaultTimeout(15_000);
        // On the context, before the page exists, so not even the first navigation is missed.
        tab.Context.Request += (_, request) =>
            tab._requests.Enqueue(new SentRequest(request.Method, request.Url, request.Headers, request.PostData));
        // Read at once, while the browser still has them: all the headers (Set-Cookie included) and the body.
        tab.Context.Response += (_, response) => tab._responses.Enqueue(new ReceivedResponse(
            response.Url, response.Request.ResourceType, AllHeadersAsync(response), BodyLengthAsync(response)));
        tab.Page = await tab.NewPageAsync();
        return tab;
    }

    /// <summary>Another page in the same context (same recording), e.g. the partner's link after the client withdrew.</summary>
    public async Task<IPage> NewPageAsync()
    {
        var page = await Context.NewPageAsync();
        page.Console += (_, message) =>
        {
            // Chromium asks every site for /favicon.ico on its own; the broker has none, and that 404 is not the page's.
            if (message.Type == "error" && !message.Location.Contains("/favicon.ico:", StringComparison.Ordinal))
            {
                _errors.Enqueue($"console: {message.Text} ({message.Location})");
            }
        };
        page.PageError += (_, error) => _errors.Enqueue($"page error: {error}");
        return page;
    }

    private static async Task<Dictionary<string, string>> AllHeadersAsync(IResponse response)
    {
        try
        {
            return await response.AllHeadersAsync();
        }
        catch (PlaywrightException)
        {
            return [];
        }
    }

    private static async Task<int?> BodyLengthAsync(IResponse response)
    {
        try
        {
            return (await response.BodyAsync()).Length;
        }
        catch (PlaywrightException)
        {
            return null;
        }
    }

    /// <summary>No script error and no CSP refusal: both reach the console.</summary>
    public void AssertNoErrors() => Assert.True(_errors.IsEmpty, "The page reported errors:\n" + string.Join('\n', _errors));

    public async ValueTask DisposeAsync() => await Context.CloseAsync();
}

/// <summary>A request as it left the browser (Playwright reports its URL without the fragment, as sent).</summary>
public sealed record SentRequest(string Method, string Url, IReadOnlyDictionary<string, string> Headers, string? Body)
{
    /// <summary>What goes on the wire and into server logs: the path and the query.</summary>
    public string PathAndQuery => new Uri(Url).PathAndQuery;

    public override string ToString() => $"{Method} {Url}";
}

/// <summary>A response as the browser received it: every header, and the length of the body it was given.</summary>
public sealed record ReceivedResponse(string Url, string ResourceType, Task<Dictionary<string, string>> Headers, Task<int?> BodyLength)
{
    public string PathAndQuery => new Uri(Url).PathAndQuery;
}
