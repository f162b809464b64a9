using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using ReferralBroker.Embedded;
using ReferralBroker.Lifecycle;
using ReferralBroker.Referrals;
using ReferralBroker.Sealing;
using ReferralBroker.Tokens;

// The benchmark's helpers, driven by bench/run. Each prints one line of JSON (or plain figures) on stdout.
//   seed    --db FILE --pepper BASE64 --count N --tokens FILE [--sample N]
//   startup --url URL [--body JSON] -- EXECUTABLE [ARGS...]
//   drain   --db FILE --seconds N      (waits until the queue table is empty; exit 1 if it is not within N s)
//   e2e     --url URL --key KEY --rate PER_SECOND --seconds N (--outbox DIR | --arrivals FILE) --db FILE --body FILE
return args.FirstOrDefault() switch
{
    "seed" => Seeder.Run(Options.Parse(args[1..])),
    "startup" => await StartupTimer.RunAsync(Options.Parse(args[1..])),
    "e2e" => await EndToEnd.RunAsync(Options.Parse(args[1..])),
    "drain" => await EndToEnd.DrainAsync(Options.Parse(args[1..])),
    _ => Fail("usage: BenchTools seed|startup|e2e ... (see bench/BenchTools/Program.cs)"),
};

static int Fail(string message)
{
    Console.Error.WriteLine(message);
    return 2;
}

internal sealed class Options(Dictionary<string, string> named, string[] rest)
{
    public string[] Rest { get; } = rest;

    public static Options Parse(string[] args)
    {
        var named = new Dictionary<string, string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--")
            {
                return new Options(named, args[(i + 1)..]);
            }

            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"expected --name value, got '{args[i]}'");
            }

            named[args[i][2..]] = args[++i];
        }

        return new Options(named, []);
    }

    public string this[string name] => named.TryGetValue(name, out var value) ? value : throw new ArgumentException($"--{name} is required");

    public string? Optional(string name) => named.GetValueOrDefault(name);

    public int Int(string name) => int.Parse(this[name], CultureInfo.InvariantCulture);

    public double Double(string name) => double.Parse(this[name], CultureInfo.InvariantCulture);
}

/// <summary>
/// Writes stored referrals straight into the broker's SQLite file with the broker's own schema, token hash and
/// storage JSON, in big transactions: a million rows in about a minute instead of hours through the API.
/// Also writes a sample of their status tokens, spread over the whole range, for the status lookup load.
/// </summary>
internal static class Seeder
{
    private const int Batch = 50_000;

    public static int Run(Options options)
    {
        var count = options.Int("count");
        var sample = int.Parse(options.Optional("sample") ?? "2000", CultureInfo.InvariantCulture);
        var pepper = new Pepper(Convert.FromBase64String(options["pepper"]));
        using var database = new SqliteDatabase(options["db"]);
        var every = Math.Max(1, count / sample);
        var started = Stopwatch.StartNew();
        var now = DateTimeOffset.UtcNow;
        using var tokens = new StreamWriter(options["tokens"]);
        using var connection = database.Open();
        // A big page cache: the random token hashes and ids land all over the indexes.
        SqliteDatabase.Execute(connection, "PRAGMA synchronous = OFF; PRAGMA cache_size = -400000;");
        using var insert = connection.CreateCommand();
        insert.CommandText = """
            INSERT INTO referrals (referral_id, token_hash, version, expires_at, sealed_delete_at, purge_at, status, record)
            VALUES ($id, $token, 1, $expires, NULL, $purge, $status, $record)
            """;
        var id = insert.Parameters.Add("$id", SqliteType.Text);
        var token = insert.Parameters.Add("$token", SqliteType.Text);
        var expires = insert.Parameters.Add("$expires", SqliteType.Integer);
        var purge = insert.Parameters.Add("$purge", SqliteType.Integer);
        var status = insert.Parameters.Add("$status", SqliteType.Text);
        var json = insert.Parameters.Add("$record", SqliteType.Text);
        var ciphertext = new byte[280];
        for (var done = 0; done < count;)
        {
            using var transaction = connection.BeginTransaction();
            insert.Transaction = transaction;
            for (var end = Math.Min(count, done + Batch); done < end; done++)
            {
                var statusToken = StatusToken.Generate();
                RandomNumberGenerator.Fill(ciphertext);
                var record = Record(now.AddSeconds(-done % 86_400), StatusToken.Normalise(statusToken)!, pepper, ciphertext);
                id.Value = record.ReferralId;
                token.Value = record.TokenHash;
                expires.Value = record.ExpiresAt.ToUnixTimeMilliseconds();
                purge.Value = record.PurgeAt.ToUnixTimeMilliseconds();
                status.Value = record.Status.ToString();
                json.Value = JsonSerializer.Serialize(record, StorageJsonContext.Default.ReferralRecord);
                insert.ExecuteNonQuery();
                if (done % every == 0)
                {
                    tokens.WriteLine(statusToken);
                }
            }

            transaction.Commit();
        }

        Console.WriteLine(JsonSerializer.Serialize(new { seeded = count, seconds = Math.Round(started.Elapsed.TotalSeconds, 1) }));
        return 0;
    }

    /// <summary>A delivered referral as the broker would hold it, sealed details included.</summary>
    private static ReferralRecord Record(DateTimeOffset created, string canonicalToken, Pepper pepper, byte[] ciphertext) => new()
    {
        ReferralId = "ref_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)),
        OrganisationId = DemoNetwork.OrganisationId,
        PartnerId = "demo-health",
        Category = ServiceCategory.Health,
        ConsentObtainedBy = ConsentMethod.Verbal,
        Status = ReferralStatus.Delivered,
        CreatedAt = created,
        UpdatedAt = created.AddSeconds(2),
        ExpiresAt = created.AddDays(30),
        TokenHash = pepper.HashToken(canonicalToken),
        CapabilityHash = Base64Url.Encode(RandomNumberGenerator.GetBytes(32)),
        History = [new StatusChange(ReferralStatus.Submitted, created), new StatusChange(ReferralStatus.Delivered, created.AddSeconds(2))],
        Sealed = new SealedReferral(ReferralSeal.Version, Base64Url.Encode(RandomNumberGenerator.GetBytes(12)), Base64Url.Encode(ciphertext)),
        PurgeAt = created.AddDays(60),
    };
}

/// <summary>Starts a server and times process start to its first successful answer, polling every 2 ms.</summary>
internal static class StartupTimer
{
    public static async Task<int> RunAsync(Options options)
    {
        // A request the server has taken is waited for, however long its first answer takes on a busy machine: that
        // wait is the start-up being measured. (With a 2 s limit a slow first answer failed the whole bench.)
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var url = options["url"];
        var body = options.Optional("body");
        // Warm the client first so its own JIT is not counted against the server.
        try
        {
            await http.GetAsync("http://127.0.0.1:1/");
        }
        catch (HttpRequestException)
        {
        }

        var start = new ProcessStartInfo(options.Rest[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in options.Rest[1..])
        {
            start.ArgumentList.Add(arg);
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                if (process.HasExited)
                {
                    return Fail($"the server exited with {process.ExitCode} before answering");
                }

                try
                {
                    using var request = new HttpRequestMessage(body is null ? HttpMethod.Get : HttpMethod.Post, url);
                    if (body is not null)
                    {
                        request.Content = new StringContent(body, Encoding.UTF8, "application/json");
                    }

                    using var response = await http.SendAsync(request);
                    if (response.IsSuccessStatusCode)
                    {
                        Console.WriteLine(clock.Elapsed.TotalMilliseconds.ToString("F1", CultureInfo.InvariantCulture));
                        return 0;
                    }

                    if ((int)response.StatusCode != 503)
                    {
                        return Fail($"the server answered {(int)response.StatusCode} instead of success");
                    }
                }
                catch (HttpRequestException)
                {
                }

                await Task.Delay(2);
            }

            return Fail("the server did not answer within 60 s");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"startup: {message}");
        return 1;
    }
}

/// <summary>
/// Submits referrals at a steady rate (open loop: each request leaves at its scheduled time whether or not the
/// earlier ones have been answered), notes when each was acknowledged, samples the queue table's depth every
/// 250 ms, then matches each referral id with its email and reports acknowledgement → email out of the broker. The
/// email is, with <c>--outbox</c>, its sealed file in the development mailbox (the id is in the name, the time is the
/// file's write time, the key is the broker's alone) or, with <c>--arrivals</c>, the bench's SMTP sink's record of it
/// (<c>bench/smtp-sink.js</c>: the referral id of the email's link and when the sink had the whole message).
/// </summary>
internal static class EndToEnd
{
    public static async Task<int> RunAsync(Options options)
    {
        var rate = options.Double("rate");
        var seconds = options.Int("seconds");
        var outbox = options.Optional("outbox");
        var arrivals = options.Optional("arrivals");
        if ((outbox is null) == (arrivals is null))
        {
            Console.Error.WriteLine("e2e: give exactly one of --outbox DIR and --arrivals FILE");
            return 2;
        }

        var body = await File.ReadAllBytesAsync(options["body"]);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(options["url"]) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options["key"]);
        await using var queue = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = options["db"], Mode = SqliteOpenMode.ReadOnly }.ToString());
        await queue.OpenAsync();

        if (await WaitForEmptyQueueAsync(queue, TimeSpan.FromSeconds(60)) is false)
        {
            Console.Error.WriteLine("e2e: the queue did not drain before the run");
            return 1;
        }

        var total = (int)(rate * seconds);
        var acknowledged = new (string Id, DateTime At)?[total];
        var failures = 0;
        var depths = new List<(double At, long Depth)>();
        var clock = Stopwatch.StartNew();
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                depths.Add((clock.Elapsed.TotalSeconds, await DepthAsync(queue)));
                await Task.Delay(250, CancellationToken.None);
            }
        });

        var requests = new List<Task>(total);
        for (var i = 0; i < total; i++)
        {
            var due = TimeSpan.FromSeconds(i / rate);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            var index = i;
            requests.Add(Task.Run(async () =>
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await http.PostAsync("/api/referrals", content);
                var at = DateTime.UtcNow;
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref failures);
                    return;
                }

                using var json = JsonDocument.Parse(await response.Content.ReadAsStreamAsync());
                acknowledged[index] = (json.RootElement.GetProperty("referralId").GetString()!, at);
            }));
        }

        await Task.WhenAll(requests);
        var sent = clock.Elapsed.TotalSeconds;
        // Up to five minutes: a dispatcher that fell behind still sends everything, and how long it took is reported
        // (the queue's growth fails the "bounded" target on its own); only what is still queued after that is missing.
        var draining = Stopwatch.StartNew();
        var drained = await WaitForEmptyQueueAsync(queue, TimeSpan.FromSeconds(300));
        var drainSeconds = draining.Elapsed.TotalSeconds;
        await sampling.CancelAsync();
        await sampler;

        var written = (outbox is not null ? Outbox(outbox) : await ArrivalsAsync(arrivals!))
            .GroupBy(mail => mail.Id)
            .ToDictionary(g => g.Key, g => g.Min(mail => mail.At));
        var latencies = new List<double>();
        var missing = 0;
        foreach (var ack in acknowledged.OfType<(string Id, DateTime At)>())
        {
            if (written.TryGetValue(ack.Id, out var at))
            {
                // The dispatcher may write the email before the 201 reaches the client: that counts as 0.
                latencies.Add(Math.Max(0, (at - ack.At).TotalMilliseconds));
            }
            else
            {
                missing++;
            }
        }

        latencies.Sort();
        var inRun = depths.Where(d => d.At <= sent).Select(d => d.Depth).ToList();
        var secondHalf = depths.Where(d => d.At > sent / 2 && d.At <= sent).Select(d => d.Depth).DefaultIfEmpty(0).Max();
        var firstHalf = depths.Where(d => d.At <= sent / 2).Select(d => d.Depth).DefaultIfEmpty(0).Max();
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["mail"] = outbox is not null ? "outbox" : "smtp",
            ["rate"] = rate,
            ["seconds"] = Math.Round(sent, 1),
            ["submitted"] = total,
            ["failed"] = failures,
            ["emailsMissing"] = missing,
            ["p50Ms"] = Math.Round(Percentile(latencies, 50), 1),
            ["p99Ms"] = Math.Round(Percentile(latencies, 99), 1),
            ["maxQueueDepth"] = inRun.DefaultIfEmpty(0).Max(),
            ["maxQueueDepthFirstHalf"] = firstHalf,
            ["maxQueueDepthSecondHalf"] = secondHalf,
            ["drainedAfterRun"] = drained,
            ["drainSeconds"] = Math.Round(drainSeconds, 1),
        }));
        return failures == 0 && missing == 0 ? 0 : 1;
    }

    public static async Task<int> DrainAsync(Options options)
    {
        await using var queue = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = options["db"], Mode = SqliteOpenMode.ReadOnly }.ToString());
        await queue.OpenAsync();
        var clock = Stopwatch.StartNew();
        var drained = await WaitForEmptyQueueAsync(queue, TimeSpan.FromSeconds(options.Int("seconds")));
        Console.WriteLine(clock.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture));
        return drained ? 0 : 1;
    }

    private static IEnumerable<(string Id, DateTime At)> Outbox(string folder) =>
        Directory.EnumerateFiles(folder, "*.sealed")
            .Select(path => (Path.GetFileName(path).Split('-')[1], File.GetLastWriteTimeUtc(path)));

    /// <summary>The sink's lines, <c>referralId TAB arrivalMs</c>, once it has flushed them (every 100 ms).</summary>
    private static async Task<List<(string Id, DateTime At)>> ArrivalsAsync(string file)
    {
        await Task.Delay(500);
        var lines = await File.ReadAllLinesAsync(file);
        return lines.Where(line => line.Length > 0)
            .Select(line => line.Split('\t'))
            .Select(parts => (parts[0], DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(parts[1], CultureInfo.InvariantCulture)).UtcDateTime))
            .ToList();
    }

    private static async Task<bool> WaitForEmptyQueueAsync(SqliteConnection queue, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (await DepthAsync(queue) > 0)
        {
            if (clock.Elapsed > limit)
            {
                return false;
            }

            await Task.Delay(100);
        }

        return true;
    }

    private static async Task<long> DepthAsync(SqliteConnection connection)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM queue";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static double Percentile(List<double> sorted, double percent) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(percent / 100 * sorted.Count) - 1)];
}
