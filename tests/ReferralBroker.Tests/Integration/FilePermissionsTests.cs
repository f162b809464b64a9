
namespace ReferralBroker.Tests.Integration;

/// <summary>The data folder is the broker's alone: another account on the machine can list or read nothing in it.</summary>
public sealed class FilePermissionsTests
{
    private const UnixFileMode Folder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode File600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Fact]
    public async Task The_data_folder_is_0700_and_the_database_its_log_and_index_the_pepper_and_the_mail_are_0600()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix modes: on Windows the folder's ACL is the operator's.
        }

        // A parent that does not exist yet: the broker creates the data folder itself.
        var dataPath = Path.Combine(Directory.CreateTempSubdirectory("broker-modes-").FullName, "data");
        using var app = new BrokerApp(dataPath);
        await app.SubmitAndDispatchAsync();

        AssertModes(app, dataPath);
    }

    [Fact]
    public async Task A_data_folder_left_with_looser_modes_is_tightened_at_start()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix modes: on Windows the folder's ACL is the operator's.
        }

        var dataPath = Directory.CreateTempSubdirectory("broker-loose-").FullName;
        using (var before = new BrokerApp(dataPath))
        {
            await before.SubmitAndDispatchAsync();
        }

        // As an earlier version left them, or a copy restored with the umask's modes.
        var loose = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        File.SetUnixFileMode(dataPath, loose | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        foreach (var file in Directory.GetFiles(dataPath))
        {
            File.SetUnixFileMode(file, loose);
        }

        using var after = new BrokerApp(dataPath);
        await after.SubmitAndDispatchAsync();

        AssertModes(after, dataPath);
    }

    [Fact]
    public async Task A_mail_folder_left_with_looser_modes_is_tightened_at_start_in_either_mail_mode_before_any_mail()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix modes: on Windows the folder's ACL is the operator's.
        }

        var loose = Folder | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        var dataPath = Directory.CreateTempSubdirectory("broker-loose-mail-").FullName;
        var mail = Directory.CreateDirectory(Path.Combine(dataPath, "mail")).FullName;
        File.SetUnixFileMode(mail, loose);
        using (var mailbox = new BrokerApp(dataPath))
        {
            _ = mailbox.Server;
            Assert.Equal(Folder, File.GetUnixFileMode(mail));
        }

        // In SMTP mode a folder something else keeps (not the mailbox's) stays, tightened; the other file with it.
        File.SetUnixFileMode(mail, loose);
        await File.WriteAllTextAsync(Path.Combine(mail, "notes.txt"), "not the broker's");
        using var server = await Mail.SmtpTestServer.StartAsync();
        using var smtp = new BrokerApp(dataPath, settings: server.Settings());
        _ = smtp.Server;
        Assert.Equal(Folder, File.GetUnixFileMode(mail));
        Assert.True(File.Exists(Path.Combine(mail, "notes.txt")));
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void AssertModes(BrokerApp app, string dataPath)
    {
        var files = Directory.GetFiles(dataPath, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dataPath, f)).ToList();
        // Everything a seizure looks at exists now: the write-ahead log and its index, and a partner's email.
        Assert.Superset(new HashSet<string> { "broker.db", "broker.db-wal", "broker.db-shm", "pepper.key" }, files.ToHashSet());
        Assert.Contains(files, f => f.StartsWith("mail", StringComparison.Ordinal));
        Assert.Equal(Folder, File.GetUnixFileMode(dataPath));
        Assert.Equal(Folder, File.GetUnixFileMode(app.OutboxPath));
        Assert.All(files, f => Assert.True(File.GetUnixFileMode(Path.Combine(dataPath, f)) == File600,
            $"{f} is {File.GetUnixFileMode(Path.Combine(dataPath, f))}"));
    }
}
