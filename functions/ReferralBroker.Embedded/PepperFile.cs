using System.Security.Cryptography;

namespace ReferralBroker.Embedded;

/// <summary>
/// The embedded default's pepper: generated once into the data folder so that status tokens still match after
/// a restart. In Azure the pepper comes from Key Vault instead.
/// </summary>
internal static class PepperFile
{
    public static byte[] LoadOrCreate(string dataPath)
    {
        var path = Path.Combine(dataPath, "pepper.key");
        if (File.Exists(path))
        {
            return Convert.FromBase64String(File.ReadAllText(path).Trim());
        }

        Directory.CreateDirectory(dataPath);
        var secret = RandomNumberGenerator.GetBytes(32);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var writer = new StreamWriter(path, System.Text.Encoding.ASCII, options))
        {
            writer.Write(Convert.ToBase64String(secret));
        }

        return secret;
    }
}
