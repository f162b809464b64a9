namespace ReferralBroker.Embedded;

/// <summary>
/// The data folder is the broker's alone: 0700, and every file in it (the database, its write-ahead log and index,
/// the pepper, the development mailbox) 0600, so another account on the machine reads nothing. A folder or file
/// left looser by an earlier version is tightened at start. Unix only: on Windows the folder's ACL is the
/// operator's.
/// </summary>
internal static class PrivateFiles
{
    public const UnixFileMode PrivateFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates the folder 0700 (and its missing parents, as Directory.CreateDirectory does), or tightens it.</summary>
    public static void Folder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        var folder = Directory.CreateDirectory(path, PrivateFolder);
        if (folder.UnixFileMode != PrivateFolder)
        {
            folder.UnixFileMode = PrivateFolder;
        }
    }

    /// <summary>Tightens an existing file to 0600; nothing when it is not there.</summary>
    public static void Tighten(string path)
    {
        if (!OperatingSystem.IsWindows() && File.Exists(path) && File.GetUnixFileMode(path) != PrivateFile)
        {
            File.SetUnixFileMode(path, PrivateFile);
        }
    }

    /// <summary>Options for a file that is created 0600 from its first byte, never readable by others in between.</summary>
    public static FileStreamOptions NewFile(FileMode mode = FileMode.CreateNew)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateFile;
        }

        return options;
    }
}
