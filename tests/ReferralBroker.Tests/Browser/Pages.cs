using System.Text.RegularExpressions;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Tests.Browser;

/// <summary>Where the pages and the tools around them are, for a broker served on a real socket.</summary>
internal static partial class Pages
{
    /// <summary>
    /// The link exactly as emailed to the partner, with only its origin (PublicBaseUrl, https://broker.test in the
    /// fixture) swapped for the test server's: path and fragment are the email's own.
    /// </summary>
    public static string EmailedLink(BrokerApp app, string referralId)
    {
        var links = app.Outbox().Select(email => EmailedLinkPattern().Match(email))
            .Where(match => match.Success && match.Groups["id"].Value == referralId).ToList();
        var link = Assert.Single(links);
        return Origin(app) + link.Groups["rest"].Value;
    }

    /// <summary>The partner page for a referral with any fragment, e.g. a damaged copy of the link.</summary>
    public static string PartnerPage(BrokerApp app, string referralId, string? fragment) =>
        $"{Origin(app)}/partner/{referralId}{(fragment is null ? "" : "#" + fragment)}";

    public static string StatusPage(BrokerApp app) => $"{Origin(app)}/status";

    public static string ReferPage(BrokerApp app) => $"{Origin(app)}/refer";

    /// <summary>The partner link in the only email of the outbox (the test made one referral, on the refer page).</summary>
    public static (string ReferralId, string Url) OnlyEmailedLink(BrokerApp app)
    {
        var referralId = BrokerApp.LinkIn(Assert.Single(app.Outbox())).ReferralId;
        return (referralId, EmailedLink(app, referralId));
    }

    public static string Origin(BrokerApp app) => app.ServerAddress.GetLeftPart(UriPartial.Authority);

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>axe-core from the repo's package.json (npm ci), injected into pages to check their accessibility.</summary>
    public static string AxeScript
    {
        get
        {
            var path = Path.Combine(RepositoryRoot, "node_modules", "axe-core", "axe.min.js");
            Assert.True(File.Exists(path), $"axe-core is not installed at {path}: run `npm ci` in {RepositoryRoot}.");
            return path;
        }
    }

    /// <summary>
    /// Screenshots go to TestResults/browser (git-ignored) to be looked at by a person; with
    /// REFERRALBROKER_SCREENSHOTS=1 to docs/screenshots, the README's pictures, so that ordinary runs leave the tree clean.
    /// </summary>
    public static string ScreenshotPath(string name)
    {
        var docs = Environment.GetEnvironmentVariable("REFERRALBROKER_SCREENSHOTS") == "1";
        var folder = Directory.CreateDirectory(docs ? Path.Combine(RepositoryRoot, "docs", "screenshots") : Path.Combine(RepositoryRoot, "TestResults", "browser")).FullName;
        return Path.Combine(folder, name + ".png");
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ReferralBroker.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No ReferralBroker.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"https://broker\.test(?<rest>/partner/(?<id>ref_[0-9a-f]+)#[A-Za-z0-9_-]+)")]
    private static partial Regex EmailedLinkPattern();
}
