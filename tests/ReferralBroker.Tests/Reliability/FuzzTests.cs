using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ReferralBroker.Tests.Integration;
using Xunit.Abstractions;

namespace ReferralBroker.Tests.Reliability;

/// <summary>
/// Seeded fuzzing of every route: malformed and mistyped JSON, huge and deeply nested bodies, invalid UTF-8,
/// control characters, overlong tokens and ids, odd headers and methods; and raw bytes over a socket to real
/// Kestrel for what an HTTP client refuses to send (header injection, smuggling). Every answer must be a 4xx
/// problem or a correct 2xx, never a 5xx, never a hang, never a stack trace; the broker stays healthy.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    public const int Seed = 5;
    public const int Cases = 3000;

    private static readonly string[] Routes =
    [
        "POST /api/referrals", "GET /api/referrals/{id}", "GET /api/partners", "POST /api/status", "POST /api/status/withdraw",
        "GET /api/partner/referrals/{id}", "POST /api/partner/referrals/{id}/accept", "POST /api/partner/referrals/{id}/decline",
        "POST /api/partner/referrals/{id}/progress", "GET /", "GET /status", "GET /partner/{id}", "GET /partner.js", "GET /nowhere",
        "POST /status", "POST /status/withdraw", "POST /status/withdraw/confirm", "GET /refer", "GET /reports",
        "GET /api/referrals", "GET /api/reports/summary", "POST /api/partners/{id}/flags",
    ];

    [Fact]
    public async Task Every_route_answers_fuzzed_requests_with_a_4xx_problem_or_a_correct_2xx_and_never_a_5xx()
    {
        using var app = new BrokerApp(settings: FaultHistoryTests.Unthrottled);
        var (_, link) = await app.SubmitAndDispatchAsync();
        var random = new Random(Seed);
        var client = app.CreateClient();
        client.Timeout = TimeSpan.FromSeconds(10);
        var tally = new Tally();

        for (var i = 0; i < Cases; i++)
        {
            var route = Routes[random.Next(Routes.Length)].Split(' ');
            var method = random.Next(12) == 0 ? new HttpMethod(new[] { "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "GET", "POST" }[random.Next(7)]) : new HttpMethod(route[0]);
            var id = random.Next(3) == 0 ? link.ReferralId : Mutate(random, link.ReferralId);
            using var request = new HttpRequestMessage(method, route[1].Replace("{id}", Uri.EscapeDataString(id), StringComparison.Ordinal));
            if (method != HttpMethod.Get && method != HttpMethod.Head)
            {
                request.Content = new ByteArrayContent(Body(random, route[1]));
                request.Content.Headers.ContentType = random.Next(8) switch
                {
                    0 => null,
                    _ when IsPage(route[1]) && random.Next(2) == 0 => new MediaTypeHeaderValue("application/x-www-form-urlencoded"),
                    1 => new MediaTypeHeaderValue("text/plain"),
                    2 => MediaTypeHeaderValue.Parse("application/json; charset=utf-16"),
                    _ => new MediaTypeHeaderValue("application/json"),
                };
            }

            AddHeaders(random, request, link);
            var response = await client.SendAsync(request);
            await tally.CheckAsync($"{method} {route[1]} case {i}", response, expectCreated: route[1] == "/api/referrals",
                page: IsPage(route[1]));
        }

        Assert.Equal(HttpStatusCode.OK, (await app.CreateClient().GetAsync("/api/partners")).StatusCode);
        Assert.Equal("delivered", (await app.StatusAsync((await app.SubmitAndDispatchAsync()).Referral.StatusToken)).GetProperty("status").GetString());
        Report(tally);
        foreach (var error in app.Logs.Where(l => l.StartsWith("Error", StringComparison.Ordinal)).Select(l => l.Split('\n').Take(3).Aggregate((a, b) => a + " | " + b)).Distinct().Take(10))
        {
            output.WriteLine(error);
        }

        Assert.Empty(tally.Failures);
    }

    [Fact]
    public async Task Raw_requests_with_header_injection_and_broken_framing_never_get_a_5xx_or_hang_real_Kestrel()
    {
        using var app = new BrokerApp(settings: FaultHistoryTests.Unthrottled, realServer: true);
        var address = app.ServerAddress;
        var tally = new Tally();
        var valid = Encoding.UTF8.GetBytes("""{"token":"0000-0000-0000-0000"}""");
        string[] injections =
        [
            "X-Referral-Capability: a\r\nSet-Cookie: injected=1",
            "X-Referral-Capability: a\nInjected: 1",
            "X-Referral-Capability: a\rInjected: 1",
            "X-Referral-Capability: \0null",
            "Idempotency-Key: key\r\n evil-fold",
            "Authorization: Bearer " + new string('k', 20_000),
            "X-Long: " + new string('x', 70_000),
            "Host: evil.example\r\nHost: second.example",
            "Transfer-Encoding: chunked\r\nContent-Length: 5",
            "Content-Length: -1",
            "Content-Length: 99999999999999999999",
            "Bad Header Name: 1",
            ": empty-name",
            "X-Utf8: \u00e9\u00e8\u4e2d",
        ];
        var requests = new List<(string Name, byte[] Bytes)>();
        foreach (var (injection, n) in injections.Select((x, n) => (x, n)))
        {
            foreach (var path in new[] { "/api/status", "/api/partner/referrals/ref_0/accept", "/api/referrals" })
            {
                requests.Add(($"injection {n} on {path}", Raw($"POST {path} HTTP/1.1\r\nHost: localhost\r\n{injection}\r\nContent-Type: application/json\r\nContent-Length: {valid.Length}\r\nConnection: close\r\n\r\n", valid)));
            }
        }

        requests.Add(("bad chunked", Raw("POST /api/status HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nZZ\r\nxx\r\n0\r\n\r\n", [])));
        requests.Add(("unknown method", Raw("BREW /api/status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", [])));
        requests.Add(("control in target", Raw("GET /api/referrals/\u0001\u007f HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", [])));
        requests.Add(("overlong target", Raw($"GET /api/referrals/{new string('r', 20_000)} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", [])));
        requests.Add(("percent-encoded null in id", Raw("GET /partner/ref_%00%0d%0aX:1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", [])));
        requests.Add(("invalid UTF-8 body", Raw("POST /api/status HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 14\r\nConnection: close\r\n\r\n", [.. "{\"token\":\""u8, 0xC3, 0x28, 0xFF, .. "\"}"u8])));
        requests.Add(("no host", Raw("GET /api/partners HTTP/1.1\r\nConnection: close\r\n\r\n", [])));

        foreach (var (name, bytes) in requests)
        {
            var (status, head, body) = await SendRawAsync(address, bytes);
            tally.Check(name, status, head, body);
            Assert.DoesNotContain("injected=1", head, StringComparison.OrdinalIgnoreCase);
        }

        // Outside the tally: HTTP's own answer to an unknown version is 505, from Kestrel before the app; and a
        // client that goes away in the middle of its body gets no answer, only a closed connection, in time.
        Assert.Equal(505, (await SendRawAsync(address, Raw("GET /api/partners HTTP/9.9\r\nHost: localhost\r\nConnection: close\r\n\r\n", []))).Status);
        var gone = await SendRawAsync(address, Raw($"POST /api/status HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 500\r\nConnection: close\r\n\r\n", valid), halfClose: true);
        Assert.True(gone.Status is 0 or 400, $"A truncated body got {gone.Status}");

        var healthy = await SendRawAsync(address, Raw("GET /api/partners HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", []));
        Assert.Equal(200, healthy.Status);
        Report(tally);
        Assert.Empty(tally.Failures);
    }

    [Theory]
    [InlineData("/api/status", new byte[] { 0x7B, 0x22, 0x74, 0x6F, 0x6B, 0x65, 0x6E, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D })]
    [InlineData("/api/status/withdraw", new byte[] { 0x7B, 0x22, 0x74, 0x6F, 0x6B, 0x65, 0x6E, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D })]
    public async Task Invalid_UTF8_inside_a_JSON_string_is_a_400_problem_not_a_500(string path, byte[] body)
    {
        using var app = new BrokerApp();
        var response = await app.CreateClient().PostAsync(path, new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_lone_surrogate_escape_in_a_referral_is_a_400_problem_not_a_500()
    {
        using var app = new BrokerApp();
        var json = BrokerApp.Referral().GetRawText().Replace("Mai", "Ma\\ud800i", StringComparison.Ordinal);
        var response = await app.Organisation().PostAsync("/api/referrals", new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task A_broken_chunked_body_is_a_400_not_a_500()
    {
        using var app = new BrokerApp(realServer: true);
        var (status, _, body) = await SendRawAsync(app.ServerAddress,
            Raw("POST /api/status HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nZZ\r\nxx\r\n0\r\n\r\n", []));
        Assert.Equal(400, status);
        Assert.Contains("\"status\":400", body, StringComparison.Ordinal);
    }

    private void Report(Tally tally)
    {
        var line = $"cases={tally.Cases} 4xx={tally.ClientErrors} 2xx={tally.Successes} 5xx={tally.ServerErrors} seed={Seed}";
        Figures.Report(output, "fuzz", line);
        foreach (var failure in tally.Failures.Take(20))
        {
            output.WriteLine(failure);
        }
    }

    /// <summary>A person's page: its errors are pages in her language, not problem+json.</summary>
    private static bool IsPage(string route) => route.StartsWith("/status", StringComparison.Ordinal);

    private static byte[] Body(Random random, string route)
    {
        var valid = route switch
        {
            _ when IsPage(route) => $"token={Uri.EscapeDataString(Tokens.StatusToken.Generate())}",
            "/api/referrals" => BrokerApp.Referral($"fuzz{random.Next()}").GetRawText(),
            "/api/partner/referrals/{id}/decline" => """{"reason":"no-capacity"}""",
            "/api/partner/referrals/{id}/progress" => """{"status":"in-progress"}""",
            _ => $$"""{"token":"{{Tokens.StatusToken.Generate()}}"}""",
        };
        return random.Next(14) switch
        {
            0 => [],
            1 => RandomBytes(random, random.Next(1, 300)),
            2 => Encoding.UTF8.GetBytes(new string('[', 5000) + new string(']', 5000)),
            3 => Encoding.UTF8.GetBytes("{\"a\":" + new string('{', 200) + new string('}', 200) + "}"),
            4 => Encoding.UTF8.GetBytes(valid[..random.Next(valid.Length)]),
            5 => Encoding.UTF8.GetBytes(valid + "}{garbage"),
            6 => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { token = new string('A', 20_000 + random.Next(50_000)) })),
            7 => Splice(Encoding.UTF8.GetBytes(valid), random, [0xC3, 0x28, 0xFF, 0xFE, 0xED, 0xA0, 0x80]),
            8 => Encoding.UTF8.GetBytes(valid.Replace("Mai", "M\u0000a\u001bi\u0007", StringComparison.Ordinal).Replace("\"token\":\"", "\"token\":\"\\u0000\\ud800", StringComparison.Ordinal)),
            9 => [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(valid)],
            10 => Encoding.Unicode.GetBytes(valid),
            _ when IsPage(route) => Encoding.UTF8.GetBytes(random.Next(2) == 0 ? valid : valid + "&token=" + Mutate(random, valid)),
            _ => Encoding.UTF8.GetBytes(MutateJson(random, valid)),
        };
    }

    /// <summary>One structural change to valid JSON: a property dropped, retyped, duplicated, or added.</summary>
    private static string MutateJson(Random random, string valid)
    {
        var node = JsonNode.Parse(valid)!.AsObject();
        var objects = new List<JsonObject> { node };
        objects.AddRange(node.Select(p => p.Value).OfType<JsonObject>());
        var target = objects[random.Next(objects.Count)];
        var names = target.Select(p => p.Key).ToList();
        var name = names.Count > 0 ? names[random.Next(names.Count)] : "x";
        JsonNode? replacement = random.Next(9) switch
        {
            0 => 12345,
            1 => 1e300,
            2 => true,
            3 => null,
            4 => new JsonArray("a", 1, null),
            5 => new JsonObject { ["nested"] = "x" },
            6 => new string('z', 17_000),
            7 => "\u202e\u0000\ud7ff\ufffd",
            _ => "",
        };
        switch (random.Next(3))
        {
            case 0:
                target.Remove(name);
                break;
            case 1:
                target[name] = replacement;
                break;
            default:
                target["unexpected" + random.Next(3)] = replacement;
                break;
        }

        var text = node.ToJsonString();
        // Duplicate properties cannot be built with JsonNode: splice one in by hand now and then.
        return random.Next(10) == 0 ? text.Insert(1, "\"category\":\"legal\",") : text;
    }

    private static void AddHeaders(Random random, HttpRequestMessage request, PartnerLink link)
    {
        if (request.RequestUri!.OriginalString.StartsWith("/api/referrals", StringComparison.Ordinal) && random.Next(5) != 0)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", random.Next(6) == 0 ? Mutate(random, BrokerApp.OrgKey) : BrokerApp.OrgKey);
        }

        if (random.Next(3) == 0)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", random.Next(3) switch
            {
                0 => new string('k', random.Next(150, 400)),
                1 => "",
                _ => $"key-{random.Next(20)}",
            });
        }

        if (request.RequestUri.OriginalString.Contains("/partner/referrals/", StringComparison.Ordinal))
        {
            request.Headers.TryAddWithoutValidation("X-Referral-Capability", random.Next(4) switch
            {
                0 => link.Capability,
                1 => new string('c', random.Next(1, 20_000)),
                2 => Mutate(random, link.Capability),
                _ => "=== not base64 ===",
            });
        }
    }

    private static string Mutate(Random random, string text) => random.Next(6) switch
    {
        0 => text + new string('x', random.Next(1, 5000)),
        1 => text[..random.Next(text.Length)],
        2 => text.ToUpperInvariant(),
        3 => text + "\u00e9\u4e2d\ud83d\ude00",
        4 => "..%2f..%2f" + text,
        _ => text.Replace(text[random.Next(text.Length)], '~'),
    };

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Splice(byte[] valid, Random random, byte[] bad)
    {
        var at = random.Next(valid.Length);
        return [.. valid[..at], .. bad.Take(random.Next(1, bad.Length)), .. valid[at..]];
    }

    private static byte[] Raw(string head, byte[] body) => [.. Encoding.Latin1.GetBytes(head), .. body];

    /// <summary>Writes the bytes and reads the answer until the server closes (every request says Connection: close).</summary>
    /// <param name="halfClose">Close our side after writing, for a body shorter than announced.</param>
    private static async Task<(int Status, string Head, string Body)> SendRawAsync(Uri address, byte[] request, bool halfClose = false)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var socket = new TcpClient();
        await socket.ConnectAsync(address.Host, address.Port, timeout.Token);
        var stream = socket.GetStream();
        await stream.WriteAsync(request, timeout.Token);
        if (halfClose)
        {
            socket.Client.Shutdown(SocketShutdown.Send);
        }

        using var answer = new MemoryStream();
        try
        {
            await stream.CopyToAsync(answer, timeout.Token);
        }
        catch (IOException)
        {
            // Kestrel may reset a connection it refused after answering; what it answered is already read.
        }

        var text = Encoding.Latin1.GetString(answer.ToArray());
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = split < 0 ? text : text[..split];
        var status = head.Split(' ') is [_, var code, ..] && int.TryParse(code, out var parsed) ? parsed : 0;
        return (status, head, split < 0 ? "" : text[(split + 4)..]);
    }

    private sealed class Tally
    {
        public int Cases { get; private set; }
        public int ClientErrors { get; private set; }
        public int Successes { get; private set; }
        public int ServerErrors { get; private set; }
        public List<string> Failures { get; } = [];

        public async Task CheckAsync(string name, HttpResponseMessage response, bool expectCreated, bool page = false)
        {
            var body = await response.Content.ReadAsStringAsync();
            var head = $"{response.Headers}{response.Content.Headers}content-type: {response.Content.Headers.ContentType?.MediaType}";
            Check(name, (int)response.StatusCode, head, body, page);
            if (response.StatusCode == HttpStatusCode.Created && expectCreated
                && JsonDocument.Parse(body).RootElement.GetProperty("statusToken").GetString() is not { Length: 19 })
            {
                Failures.Add($"{name}: 201 without a status token");
            }
        }

        public void Check(string name, int status, string head, string body, bool page = false)
        {
            Cases++;
            switch (status)
            {
                case >= 200 and < 300:
                    Successes++;
                    break;
                case >= 400 and < 500:
                    ClientErrors++;
                    // Kestrel refuses broken HTTP itself, before the app, with an empty body; the app always explains.
                    var fromKestrel = body.Length == 0 && !head.Contains("content-type: application", StringComparison.OrdinalIgnoreCase);
                    // A person's page explains in a page; a method no form uses is refused like any other route.
                    var explained = page && status != 405 ? "text/html" : "application/problem+json";
                    if (!fromKestrel && !head.Contains(explained, StringComparison.OrdinalIgnoreCase))
                    {
                        Failures.Add($"{name}: {status} without {explained}");
                    }

                    break;
                case >= 500:
                    ServerErrors++;
                    Failures.Add($"{name}: {status} {body[..Math.Min(body.Length, 300)]}");
                    break;
                default:
                    Failures.Add($"{name}: no or unexpected answer {status}");
                    break;
            }

            if (body.Contains("   at ", StringComparison.Ordinal) || body.Contains("Exception", StringComparison.Ordinal))
            {
                Failures.Add($"{name}: internal details in the answer");
            }
        }
    }
}
