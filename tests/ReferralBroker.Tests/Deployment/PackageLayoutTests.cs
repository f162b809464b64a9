namespace ReferralBroker.Tests.Deployment;

/// <summary>
/// The deployment package as scripts/package.sh lays it out (reference §1.1, §1.2, §1.6, §1.9): host.json and one
/// folder per function at the root, an executable handler that survives the zip, nothing that must not ship, and
/// function routes that cover the app's routes exactly. The layout comes from the real script without its
/// self-contained publish (<see cref="PackageLayoutFixture"/>); the full package is checked when
/// REFERRALBROKER_FULL_PACKAGE=1.
/// </summary>
public sealed class PackageLayoutTests(PackageLayoutFixture layout, FullPackageFixture full)
    : IClassFixture<PackageLayoutFixture>, IClassFixture<FullPackageFixture>
{
    public static TheoryData<string> Hostings => new() { RouteInspectionApp.Embedded, RouteInspectionApp.Azure };

    [Fact]
    public void HostJson_IsAtTheRoot_AndStartsAnExecutableHandlerInThePackage()
    {
        layout.Run.AssertSucceeded();
        PackageChecks.AssertNone(PackageChecks.HostJson(layout.PackageDirectory), "host.json");
    }

    [Fact]
    public void EveryFunctionFolder_IsAtThePackageRoot()
    {
        layout.Run.AssertSucceeded();
        PackageChecks.AssertNone(PackageChecks.FunctionFolders(layout.PackageDirectory, PackageScript.DefinitionsDirectory), "function folders");
    }

    [Fact]
    public void EveryFunctionJson_HasTheBindingShapeItsTriggerNeeds()
    {
        layout.Run.AssertSucceeded();
        var functions = PackagedFunction.LoadAll(layout.PackageDirectory);
        Assert.NotEmpty(functions);
        PackageChecks.AssertNone(PackageChecks.BindingShapes(functions), "function.json bindings");
    }

    [Fact]
    public void Package_HoldsTheApp_AndNothingThatMustNotShip()
    {
        // The fixture planted development settings, local settings, embedded data and test files in the app's
        // files, and took the handler's execute bit away: the script must have undone all of it.
        layout.Run.AssertSucceeded();
        PackageChecks.AssertNone(PackageChecks.AppFiles(layout.PackageDirectory), "app files");
        PackageChecks.AssertNone(PackageChecks.Leaks(layout.PackageDirectory), "files that must not ship");
    }

    [Fact]
    public void Zip_HoldsThePackageAtItsRoot_AndKeepsTheHandlerExecutable()
    {
        layout.Run.AssertSucceeded();
        Assert.Equal(layout.ZipPath, layout.Run.LastLine);
        PackageChecks.AssertNone(PackageChecks.Zip(layout.ZipPath, layout.PackageDirectory), "zip");
    }

    [Theory]
    [MemberData(nameof(Hostings))]
    public async Task EveryAppRoute_IsReachableThroughAnHttpFunction(string hosting)
    {
        layout.Run.AssertSucceeded();
        var problems = await AppRoutes.CheckAsync(layout.PackageDirectory, hosting,
            (functions, routes, constraints) => AppRoutes.Unreachable(routes, functions, constraints));
        PackageChecks.AssertNone(problems, $"app routes ({hosting}) the Functions host would answer 404 to");
    }

    [Theory]
    [MemberData(nameof(Hostings))]
    public async Task EveryHttpFunction_ReachesAnAppRoute(string hosting)
    {
        layout.Run.AssertSucceeded();
        var problems = await AppRoutes.CheckAsync(layout.PackageDirectory, hosting,
            (functions, routes, constraints) => AppRoutes.Unused(functions, routes, constraints));
        PackageChecks.AssertNone(problems, $"HTTP functions forwarding to nothing in the app ({hosting})");
    }

    /// <summary>
    /// The host posts every non-HTTP invocation to POST /{FunctionName} (reference §1.4): hosted as a custom
    /// handler, the app must answer that for every trigger function of the package.
    /// </summary>
    [Fact]
    public async Task AzureHosting_AnswersPostFunctionName_ForEveryTriggerFunction()
    {
        layout.Run.AssertSucceeded();
        var unanswered = await AppRoutes.UnansweredTriggersAsync(layout.PackageDirectory);
        PackageChecks.AssertNone(unanswered, "trigger functions the app does not answer as a custom handler");
    }

    [FullPackageFact]
    public async Task FullPackage_IsSelfContained_WithTheSameLayout_AndAnExecutableHandler()
    {
        var run = await full.RunAsync();
        run.AssertSucceeded();
        Assert.Equal(full.ZipPath, run.LastLine);
        var package = full.PackageDirectory;
        var problems = new List<string>();
        problems.AddRange(PackageChecks.HostJson(package));
        problems.AddRange(PackageChecks.FunctionFolders(package, PackageScript.DefinitionsDirectory));
        problems.AddRange(PackageChecks.AppFiles(package));
        problems.AddRange(PackageChecks.Leaks(package));
        problems.AddRange(PackageChecks.Zip(full.ZipPath, package));

        // Self-contained for linux-x64: the runtime and ASP.NET Core ship beside the handler, an ELF executable, so
        // the Functions image needs no .NET of its own (reference §5.1: which one it has is unconfirmed).
        problems.AddRange(new[] { "libcoreclr.so", "System.Private.CoreLib.dll", "Microsoft.AspNetCore.dll" }
            .Where(file => !File.Exists(Path.Combine(package, file)))
            .Select(file => $"{file} is not in the package: not a self-contained linux-x64 publish"));
        var handler = Path.Combine(package, PackagedHost.Load(package).ExecutablePath ?? "");
        if (File.Exists(handler) && !File.ReadAllBytes(handler).AsSpan(0, 4).SequenceEqual("\u007fELF"u8))
        {
            problems.Add($"{handler} is not a Linux executable");
        }

        PackageChecks.AssertNone(problems, $"full package (built in {run.Took.TotalSeconds:F0} s)");
    }
}
