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
        PrivateFiles.Folder(dataPath);
        if (File.Exists(path))
        {
            PrivateFiles.Tighten(path);
            return Convert.FromBase64String(File.ReadAllText(path).Trim());
        }

        var secret = RandomNumberGenerator.GetBytes(32);
        using (var writer = new StreamWriter(path, System.Text.Encoding.ASCII, PrivateFiles.NewFile()))
        {
            writer.Write(Convert.ToBase64String(secret));
        }

        return secret;
    }
}
