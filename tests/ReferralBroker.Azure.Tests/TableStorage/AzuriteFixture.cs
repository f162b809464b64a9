using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Azure.Data.Tables;
using ReferralBroker.Azure.TableStorage;

namespace ReferralBroker.Azure.Tests.TableStorage;

/// <summary>
/// The real Table service emulator, started once for the collection: <c>node_modules/.bin/azurite-table</c> from the
/// repo root (<c>npm ci</c> installs the pinned azurite 3.35.0), in memory, on a free port. A missing emulator fails
/// every test of the collection with instructions: these tests are the only check of what the SDK sends.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public const string AccountName = "devstoreaccount1";

    /// <summary>The emulator's published well-known key; not a secret.</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly StringBuilder _output = new();
    private Process? _process;
    private string? _workspace;

    public Uri Endpoint { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var root = FindRepoRoot();
        var executable = Path.Combine(root, "node_modules", ".bin", OperatingSystem.IsWindows() ? "azurite-table.cmd" : "azurite-table");
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException(
                $"Azurite is not installed ({executable} is missing). Run `npm ci` in {root} " +
                "(package.json pins azurite 3.35.0, the last release that runs on Node 20).");
        }

        var port = FreePort();
        _workspace = Directory.CreateTempSubdirectory("azurite-").FullName;
        var start = new ProcessStartInfo(executable)
        {
            // Any file Azurite might still write lands in a throwaway directory, not in the repo.
            WorkingDirectory = _workspace,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--inMemoryPersistence", "--tableHost", "127.0.0.1", "--tablePort", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--disableTelemetry", "--silent",
        })
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {executable}.");
        _process.OutputDataReceived += (_, e) => Collect(e.Data);
        _process.ErrorDataReceived += (_, e) => Collect(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        Endpoint = new Uri($"http://127.0.0.1:{port}/{AccountName}");
        await WaitUntilListeningAsync(port);
    }

    public Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process?.Dispose();
        if (_workspace is not null)
        {
            try
            {
                Directory.Delete(_workspace, recursive: true);
            }
            catch (IOException)
            {
                // A temp directory left behind is harmless.
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Options for a fresh set of tables: each test gets its own prefix, so tests never see each other's data.</summary>
    public TableStorageOptions CreateOptions(string? accountKey = null) => new()
    {
        Endpoint = Endpoint,
        AccountName = AccountName,
        AccountKey = accountKey ?? AccountKey,
        TablePrefix = "t" + Guid.NewGuid().ToString("N")[..12],
    };

    /// <summary>
    /// Everything the emulator holds, entity by entity: its table and every property the service returned, as JSON
    /// (strings unescaped, so that a marker searched for in it cannot hide behind an escape).
    /// </summary>
    public async Task<IReadOnlyList<StoredEntityJson>> DumpAllTablesAsync(CancellationToken ct = default)
    {
        var service = new TableServiceClient(Endpoint, new TableSharedKeyCredential(AccountName, AccountKey));
        var dump = new List<StoredEntityJson>();
        await foreach (var table in service.QueryAsync(cancellationToken: ct))
        {
            await foreach (var entity in service.GetTableClient(table.Name).QueryAsync<TableEntity>(cancellationToken: ct))
            {
                dump.Add(new StoredEntityJson(table.Name, ToJson(entity)));
            }
        }

        return dump;
    }

    private static string ToJson(TableEntity entity)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in entity)
            {
                // The broker stores strings, Int32 and DateTime only; the service adds the Timestamp and the ETag.
                switch (value)
                {
                    case int number:
                        writer.WriteNumber(name, number);
                        break;
                    case DateTimeOffset time:
                        writer.WriteString(name, time);
                        break;
                    default:
                        writer.WriteString(name, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                        break;
                }
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private async Task WaitUntilListeningAsync(int port)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited with code {_process.ExitCode} before listening:\n{Output()}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new InvalidOperationException($"Azurite did not listen on port {port} within {StartTimeout.TotalSeconds} s:\n{Output()}");
    }

    private void Collect(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private string Output()
    {
        lock (_output)
        {
            return _output.ToString();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRepoRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ReferralBroker.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No ReferralBroker.sln above {AppContext.BaseDirectory}: cannot find node_modules for Azurite.");
    }
}

/// <summary>One stored entity: its table and its properties as JSON.</summary>
public sealed record StoredEntityJson(string Table, string Json);

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
