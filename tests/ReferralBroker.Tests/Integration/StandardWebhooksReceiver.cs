using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ReferralBroker.Tests.Integration;

/// <summary>
/// An organisation's webhook receiver in a node process of its own (<c>standard-webhooks-receiver.js</c>) that
/// verifies every delivery with the Standard Webhooks reference library for JavaScript (npm <c>standardwebhooks</c>),
/// once per "holder" (a receiver holding one secret), and records each verdict. Its clock is set to the broker's fake
/// time, since the library checks the timestamp against its own.
/// </summary>
public sealed class StandardWebhooksReceiver : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly Process _process;
    private readonly HttpClient _control;

    private StandardWebhooksReceiver(Process process, int hookPort, int controlPort)
    {
        _process = process;
        Url = new Uri($"http://127.0.0.1:{hookPort}/hook");
        _control = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{controlPort}/") };
    }

    public Uri Url { get; }

    public static async Task<StandardWebhooksReceiver> StartAsync()
    {
        var root = FindRepoRoot();
        if (!Directory.Exists(Path.Combine(root, "node_modules", "standardwebhooks")))
        {
            throw new InvalidOperationException($"standardwebhooks is not installed. Run `npm ci` in {root} (package.json pins standardwebhooks 1.1.1).");
        }

        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = root,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(root, "tests", "ReferralBroker.Tests", "Integration", "standard-webhooks-receiver.js"));
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node.");
        var errors = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (errors)
            {
                errors.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();

        using var timeout = new CancellationTokenSource(StartTimeout);
        string? line;
        try
        {
            line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            line = null;
        }

        if (line is null)
        {
            process.Kill(entireProcessTree: true);
            lock (errors)
            {
                throw new InvalidOperationException($"The Standard Webhooks receiver did not start: {errors}");
            }
        }

        var ports = JsonDocument.Parse(line).RootElement;
        return new StandardWebhooksReceiver(process, ports.GetProperty("hookPort").GetInt32(), ports.GetProperty("controlPort").GetInt32());
    }

    /// <summary>Who verifies each delivery from now on: a name for each receiver and the one secret it holds.</summary>
    public Task HoldersAsync(params (string Name, string Secret)[] holders)
    {
        var map = new JsonObject();
        foreach (var (name, secret) in holders)
        {
            map[name] = secret;
        }

        return ScriptAsync(new JsonObject { ["holders"] = map });
    }

    /// <summary>The receiver's clock (the library's Date.now) reads <paramref name="now"/> from now on.</summary>
    public Task ClockAsync(DateTimeOffset now) => ScriptAsync(new JsonObject { ["clock"] = now.ToUnixTimeMilliseconds() });

    /// <summary>The next <paramref name="count"/> verified deliveries are answered 500.</summary>
    public Task FailNextAsync(int count) => ScriptAsync(new JsonObject { ["failNext"] = count });

    public async Task<IReadOnlyList<VerifiedDelivery>> DeliveriesAsync()
    {
        var record = await _control.GetFromJsonAsync<JsonElement>("record");
        return [.. record.GetProperty("deliveries").EnumerateArray().Select(VerifiedDelivery.Read)];
    }

    public void Dispose()
    {
        _control.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
    }

    private async Task ScriptAsync(JsonObject body)
    {
        using var response = await _control.PostAsJsonAsync("script", body);
        response.EnsureSuccessStatusCode();
    }

    private static string FindRepoRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "package.json")) && File.Exists(Path.Combine(directory.FullName, "ReferralBroker.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("No repository root (package.json next to ReferralBroker.sln) above the test binaries.");
    }
}

/// <summary>One request as the receiver got it, and what each holder's <c>Webhook.verify</c> said ("verified" or "refused: …").</summary>
public sealed record VerifiedDelivery(
    string Id, string Timestamp, string Signature, IReadOnlyList<string> OtherHeaders, string Body, IReadOnlyDictionary<string, string> Verdicts, int Status)
{
    public bool VerifiedBy(string holder) => Verdicts.GetValueOrDefault(holder) == "verified";

    public string? EventId => JsonDocument.Parse(Body).RootElement.GetProperty("eventId").GetString();

    public static VerifiedDelivery Read(JsonElement e)
    {
        var headers = e.GetProperty("headers");
        return new VerifiedDelivery(
            headers.GetProperty("webhook-id").GetString() ?? "",
            headers.GetProperty("webhook-timestamp").GetString() ?? "",
            headers.GetProperty("webhook-signature").GetString() ?? "",
            [.. e.GetProperty("otherHeaders").EnumerateArray().Select(h => h.GetString()!)],
            e.GetProperty("body").GetString()!,
            e.GetProperty("verdicts").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
            e.GetProperty("status").GetInt32());
    }
}
