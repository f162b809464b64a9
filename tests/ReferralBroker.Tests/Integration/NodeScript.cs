using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ReferralBroker.Tests.Integration;

/// <summary>
/// A real server of the tests (a real SMTP server, a Standard Webhooks receiver) in a node process of its own, with
/// the repository's pinned npm packages. The script prints one JSON line of its ports when it listens, then is told
/// what to do and asked what it saw over a control channel: HTTP on loopback, <c>POST script</c> and <c>GET record</c>.
/// </summary>
internal sealed class NodeScript : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly Process _process;

    private NodeScript(Process process, JsonElement ports)
    {
        _process = process;
        Ports = ports;
        Control = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports.GetProperty("controlPort").GetInt32()}/") };
    }

    /// <summary>The line the script printed once listening: its ports by name.</summary>
    public JsonElement Ports { get; }

    public HttpClient Control { get; }

    /// <summary>
    /// Starts <paramref name="script"/> (a path under the repository) once <paramref name="package"/> is installed;
    /// <paramref name="input"/>, if any, goes over its standard input (never the command line, which others can read).
    /// </summary>
    public static async Task<NodeScript> StartAsync(string package, string script, string? input = null)
    {
        var root = RepoRoot();
        if (!Directory.Exists(Path.Combine(root, "node_modules", package)))
        {
            throw new InvalidOperationException($"{package} is not installed. Run `npm ci` in {root} (package.json pins it).");
        }

        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = root,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(root, script));
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
        if (input is not null)
        {
            await process.StandardInput.WriteLineAsync(input);
            await process.StandardInput.FlushAsync();
        }

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
            process.Dispose();
            lock (errors)
            {
                throw new InvalidOperationException($"{script} did not start: {errors}");
            }
        }

        return new NodeScript(process, JsonDocument.Parse(line).RootElement.Clone());
    }

    public async Task ScriptAsync(JsonObject body)
    {
        using var response = await Control.PostAsJsonAsync("script", body);
        response.EnsureSuccessStatusCode();
    }

    public Task<JsonElement> RecordAsync() => Control.GetFromJsonAsync<JsonElement>("record");

    public void Dispose()
    {
        Control.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
    }

    private static string RepoRoot()
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
