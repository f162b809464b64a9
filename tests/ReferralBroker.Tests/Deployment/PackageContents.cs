using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace ReferralBroker.Tests.Deployment;

/// <summary>One function of the package: its folder name (the function's name) and its function.json.</summary>
internal sealed record PackagedFunction(string Name, string Folder, JsonObject Json)
{
    public IReadOnlyList<JsonObject> Bindings =>
        Json["bindings"] is JsonArray bindings ? [.. bindings.Select(b => b as JsonObject ?? [])] : [];

    public JsonObject? HttpTrigger => Bindings.FirstOrDefault(b => Is(b, "type", "httpTrigger"));
    public bool IsHttp => HttpTrigger is not null;
    public string? Route => HttpTrigger?["route"]?.GetValue<string>();

    /// <summary>The HTTP methods the function accepts, upper case; null when it accepts every method.</summary>
    public IReadOnlySet<string>? Methods => HttpTrigger?["methods"] is JsonArray { Count: > 0 } methods
        ? methods.Select(m => m!.GetValue<string>().ToUpperInvariant()).ToHashSet()
        : null;

    public static bool Is(JsonObject binding, string property, string value) =>
        binding[property] is JsonValue v && v.TryGetValue<string>(out var text) && string.Equals(text, value, StringComparison.OrdinalIgnoreCase);

    /// <summary>Every folder directly under <paramref name="root"/> that holds a function.json.</summary>
    public static IReadOnlyList<PackagedFunction> LoadAll(string root) =>
    [
        .. Directory.EnumerateDirectories(root)
            .Where(folder => File.Exists(Path.Combine(folder, "function.json")))
            .Order(StringComparer.Ordinal)
            .Select(folder => new PackagedFunction(
                Path.GetFileName(folder), folder,
                JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "function.json"))) as JsonObject
                    ?? throw new InvalidDataException($"{folder}/function.json is not a JSON object"))),
    ];
}

/// <summary>host.json of the package.</summary>
internal sealed record PackagedHost(JsonObject Json)
{
    public JsonObject? Description => Json["customHandler"]?["description"] as JsonObject;
    public string? ExecutablePath => Description?["defaultExecutablePath"]?.GetValue<string>();
    public string WorkingDirectory => Description?["workingDirectory"]?.GetValue<string>() ?? "";
    public bool ForwardsHttpRequests => Json["customHandler"]?["enableForwardingHttpRequest"]?.GetValue<bool>() == true;

    /// <summary>extensions.http.routePrefix; the host's default is "api" (reference §1.9).</summary>
    public string RoutePrefix => Json["extensions"]?["http"]?["routePrefix"]?.GetValue<string>() ?? "api";

    public static PackagedHost Load(string packageDirectory) =>
        new(JsonNode.Parse(File.ReadAllText(Path.Combine(packageDirectory, "host.json"))) as JsonObject
            ?? throw new InvalidDataException("host.json is not a JSON object"));
}

/// <summary>An entry of a zip's central directory, with what .NET's ZipArchive does not show: the system it was made on.</summary>
internal sealed record PackageZipEntry(string Name, byte MadeOnSystem, uint ExternalAttributes)
{
    public const byte Unix = 3;

    /// <summary>The Unix mode unzip and the Functions platform restore: only read when the entry was made on Unix.</summary>
    public UnixFileMode? UnixMode => MadeOnSystem == Unix ? (UnixFileMode)((ExternalAttributes >> 16) & 0x1FF) : null;

    public static IReadOnlyList<PackageZipEntry> ReadCentralDirectory(string path)
    {
        var zip = File.ReadAllBytes(path);
        var end = -1;
        for (var i = zip.Length - 22; i >= Math.Max(0, zip.Length - 22 - ushort.MaxValue); i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(i)) == 0x06054b50)
            {
                end = i;
                break;
            }
        }

        if (end < 0)
        {
            throw new InvalidDataException($"{path} has no end of central directory record");
        }

        var count = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(end + 10));
        var offset = BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(end + 16));
        if (count == ushort.MaxValue || offset == uint.MaxValue)
        {
            throw new NotSupportedException($"{path} needs zip64 to be read; the package should never be that large");
        }

        var entries = new List<PackageZipEntry>(count);
        for (var p = (int)offset; entries.Count < count;)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(p)) != 0x02014b50)
            {
                throw new InvalidDataException($"{path}: central directory entry {entries.Count} is damaged");
            }

            var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(p + 28));
            var extraLength = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(p + 30));
            var commentLength = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(p + 32));
            entries.Add(new PackageZipEntry(
                Encoding.UTF8.GetString(zip, p + 46, nameLength),
                zip[p + 5],
                BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(p + 38))));
            p += 46 + nameLength + extraLength + commentLength;
        }

        return entries;
    }
}

/// <summary>
/// What a deployment package must look like (reference §1.1, §1.2, §1.6, §1.9): each check returns its problems,
/// so a test can assert there are none and print them all when there are.
/// </summary>
internal static class PackageChecks
{
    private static readonly string[] HttpMethods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"];

    /// <summary>host.json at the root naming a handler that is in the package and executable, with HTTP forwarding on.</summary>
    public static List<string> HostJson(string package)
    {
        var problems = new List<string>();
        if (!File.Exists(Path.Combine(package, "host.json")))
        {
            return ["no host.json at the package root"];
        }

        var host = PackagedHost.Load(package);
        if (host.Description is null)
        {
            return ["host.json has no customHandler.description: the host would not start a custom handler"];
        }

        if (string.IsNullOrEmpty(host.ExecutablePath) || Path.IsPathRooted(host.ExecutablePath))
        {
            problems.Add($"customHandler.description.defaultExecutablePath must name a file in the package, not '{host.ExecutablePath}'");
        }
        else
        {
            var handler = Path.Combine(package, host.WorkingDirectory, host.ExecutablePath);
            if (!File.Exists(handler))
            {
                problems.Add($"host.json starts '{host.ExecutablePath}' (working directory '{host.WorkingDirectory}'), which is not in the package");
            }
            else if (!OperatingSystem.IsWindows() && !File.GetUnixFileMode(handler).HasFlag(UnixFileMode.UserExecute))
            {
                problems.Add($"{host.ExecutablePath} is not executable ({File.GetUnixFileMode(handler)}): the host could not start it");
            }
        }

        if (!host.ForwardsHttpRequests)
        {
            problems.Add("customHandler.enableForwardingHttpRequest must be true: the app answers HTTP requests itself");
        }

        return problems;
    }

    /// <summary>Every folder of functions/definitions at the package root with the same function.json, and no other.</summary>
    public static List<string> FunctionFolders(string package, string definitions)
    {
        var problems = new List<string>();
        var expected = PackagedFunction.LoadAll(definitions);
        if (expected.Count == 0)
        {
            problems.Add($"no function folders in {definitions}");
        }

        foreach (var function in expected)
        {
            var packaged = Path.Combine(package, function.Name, "function.json");
            if (!File.Exists(packaged))
            {
                problems.Add($"{function.Name}/function.json is not at the package root");
            }
            else if (!File.ReadAllBytes(packaged).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(function.Folder, "function.json"))))
            {
                problems.Add($"{function.Name}/function.json differs from functions/definitions/{function.Name}/function.json");
            }
        }

        var names = expected.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        problems.AddRange(PackagedFunction.LoadAll(package).Where(f => !names.Contains(f.Name))
            .Select(f => $"{f.Name}/function.json is in the package but not in functions/definitions"));
        problems.AddRange(Directory.EnumerateFiles(package, "function.json", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(package, path))
            .Where(path => path.Count(c => c == Path.DirectorySeparatorChar) != 1)
            .Select(path => $"{path}: the host only reads function.json one folder below the root"));
        return problems;
    }

    /// <summary>
    /// HTTP functions: exactly one httpTrigger in and one http out (only that shape is forwarded, §1.6).
    /// Trigger functions: exactly their trigger, in the shape the app's invocation endpoints read.
    /// </summary>
    public static List<string> BindingShapes(IReadOnlyList<PackagedFunction> functions)
    {
        var problems = new List<string>();
        foreach (var function in functions)
        {
            var bindings = function.Bindings;
            var shape = string.Join(", ", bindings.Select(b => $"{b["type"]}/{b["direction"]}"));
            if (function.IsHttp)
            {
                if (bindings.Count != 2
                    || bindings.Count(b => PackagedFunction.Is(b, "type", "httpTrigger") && PackagedFunction.Is(b, "direction", "in")) != 1
                    || bindings.Count(b => PackagedFunction.Is(b, "type", "http") && PackagedFunction.Is(b, "direction", "out")) != 1)
                {
                    problems.Add($"{function.Name}: an HTTP function needs exactly httpTrigger/in + http/out to be forwarded, has [{shape}]");
                }

                if (string.IsNullOrWhiteSpace(function.Route))
                {
                    problems.Add($"{function.Name}: an HTTP function needs a route (else the host routes it by function name)");
                }

                if (function.Methods?.Except(HttpMethods) is { } unknown && unknown.Any())
                {
                    problems.Add($"{function.Name}: unknown HTTP methods {string.Join(", ", unknown)}");
                }

                continue;
            }

            if (bindings.Count != 1 || !PackagedFunction.Is(bindings[0], "direction", "in"))
            {
                problems.Add($"{function.Name}: a trigger function needs exactly one binding, its trigger (the app returns no outputs), has [{shape}]");
                continue;
            }

            var trigger = bindings[0];
            if (PackagedFunction.Is(trigger, "type", "serviceBusTrigger"))
            {
                // The app reads Data.message as base64 of the exact body (reference §1.4), one message per invocation.
                if (!PackagedFunction.Is(trigger, "dataType", "binary"))
                {
                    problems.Add($"{function.Name}: serviceBusTrigger needs \"dataType\": \"binary\" (else the body arrives re-encoded)");
                }

                if (!PackagedFunction.Is(trigger, "name", "message"))
                {
                    problems.Add($"{function.Name}: the app reads the message from Data.message, so the binding must be named \"message\"");
                }

                if (trigger["cardinality"] is not null && !PackagedFunction.Is(trigger, "cardinality", "one"))
                {
                    problems.Add($"{function.Name}: the app handles one message per invocation; cardinality must be \"one\"");
                }

                if ((trigger["topicName"] is null && trigger["queueName"] is null) || trigger["connection"] is null)
                {
                    problems.Add($"{function.Name}: serviceBusTrigger needs a topicName (or queueName) and a connection");
                }
            }
            else if (PackagedFunction.Is(trigger, "type", "timerTrigger"))
            {
                if (string.IsNullOrWhiteSpace(trigger["schedule"]?.GetValue<string>()))
                {
                    problems.Add($"{function.Name}: timerTrigger needs a schedule");
                }
            }
            else
            {
                problems.Add($"{function.Name}: trigger [{shape}] is none the app handles (httpTrigger, serviceBusTrigger, timerTrigger)");
            }
        }

        return problems;
    }

    /// <summary>What must never ship: development and local settings, embedded data, test assemblies, build-machine paths.</summary>
    public static List<string> Leaks(string package) =>
    [
        .. Directory.EnumerateFileSystemEntries(package, "*", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(package, path))
            .Where(path => Path.GetFileName(path) is var name && (
                name is "appsettings.Development.json" or "local.settings.json" or ".data"
                || name.Contains(".Tests.", StringComparison.Ordinal)
                || name.StartsWith("testhost", StringComparison.Ordinal)
                || name.StartsWith("xunit.", StringComparison.Ordinal)
                || name.EndsWith(".staticwebassets.runtime.json", StringComparison.Ordinal)))
            .Select(path => $"{path} must not be in the package"),
    ];

    /// <summary>
    /// The app beside its pages (Program serves wwwroot from the binary's folder), and a satellite assembly for each
    /// client language but English: without them the client pages would quietly fall back to English.
    /// </summary>
    public static List<string> AppFiles(string package) =>
    [
        .. new[] { "ReferralBroker.dll", "ReferralBroker.runtimeconfig.json", "appsettings.json", "wwwroot/partner.html", "wwwroot/refer.html" }
            .Concat(ReferralBroker.Pages.ClientLanguages.Cultures.Where(c => c.Name != ReferralBroker.Pages.ClientLanguages.Default)
                .Select(c => $"{c.Name}/ReferralBroker.resources.dll"))
            .Where(file => !File.Exists(Path.Combine(package, file)))
            .Select(file => $"{file} is not in the package"),
    ];

    /// <summary>The zip holds exactly the package's files, at its root, and the handler's entry keeps its execute bit.</summary>
    public static List<string> Zip(string zipPath, string package)
    {
        if (!File.Exists(zipPath))
        {
            return [$"no zip at {zipPath}"];
        }

        var problems = new List<string>();
        var entries = PackageZipEntry.ReadCentralDirectory(zipPath).Where(e => !e.Name.EndsWith('/')).ToList();
        var inZip = entries.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var onDisk = Directory.EnumerateFiles(package, "*", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(package, path).Replace(Path.DirectorySeparatorChar, '/'))
            .ToHashSet(StringComparer.Ordinal);
        problems.AddRange(onDisk.Except(inZip).Order(StringComparer.Ordinal).Take(10).Select(f => $"{f} is in the package but not in the zip"));
        problems.AddRange(inZip.Except(onDisk).Order(StringComparer.Ordinal).Take(10).Select(f => $"{f} is in the zip but not in the package"));

        var host = PackagedHost.Load(package);
        var handlerEntry = Path.Combine(host.WorkingDirectory, host.ExecutablePath ?? "").Replace(Path.DirectorySeparatorChar, '/');
        var handler = entries.FirstOrDefault(e => e.Name == handlerEntry);
        if (handler is null)
        {
            problems.Add($"the zip has no entry {handlerEntry}");
        }
        else if (handler.UnixMode is not { } mode || !mode.HasFlag(UnixFileMode.UserExecute) || !mode.HasFlag(UnixFileMode.OtherExecute))
        {
            problems.Add($"zip entry {handlerEntry} lost its execute bit (made on system {handler.MadeOnSystem}, " +
                $"mode {(handler.UnixMode is { } m ? Convert.ToString((int)m, 8) : "none")}): the host could not start it");
        }

        return problems;
    }

    public static void AssertNone(List<string> problems, string what) =>
        Assert.True(problems.Count == 0, $"{what}:\n  " + string.Join("\n  ", problems));
}
