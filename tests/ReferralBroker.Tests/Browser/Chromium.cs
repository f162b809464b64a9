using Microsoft.Playwright;

namespace ReferralBroker.Tests.Browser;

/// <summary>Every browser test shares one Chromium; each test gets its own context, so nothing carries over.</summary>
[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<Chromium>
{
    public const string Name = "Browser";
}

/// <summary>
/// Debian's Chromium driven by Playwright. Playwright's own browser download cannot reach its servers from here,
/// so the tests use the distribution's build (CI installs it in .ci/run). A missing browser fails every browser
/// test with the reason: a skipped browser test would let a broken page ship green.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    public const string DefaultPath = "/usr/bin/chromium";

    /// <summary>Set REFERRALBROKER_CHROMIUM to use another Chromium build.</summary>
    public static string ExecutablePath =>
        Environment.GetEnvironmentVariable("REFERRALBROKER_CHROMIUM") is { Length: > 0 } path ? path : DefaultPath;

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("Chromium has not been started.");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException(
                $"The browser tests need Chromium at {ExecutablePath}, and there is none. Install Debian's build: " +
                "`apt-get update && apt-get install -y --no-install-recommends chromium` (as .ci/run does), or point " +
                "REFERRALBROKER_CHROMIUM at another Chromium. Playwright's own browser download does not work on this network.");
        }

        // Playwright's web-first assertions retry until this long; the pages answer in milliseconds.
        Assertions.SetDefaultExpectTimeout(10_000);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Timeout = 60_000,
            // The closed network refuses Chromium's own background connections; without these flags it stalls on them.
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
            ],
        });
    }

    /// <summary>A fresh context and page that records every request the page makes.</summary>
    public Task<BrowserTab> OpenAsync(BrowserNewContextOptions? options = null) => BrowserTab.OpenAsync(Browser, options);

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
    }
}
