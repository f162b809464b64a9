using System.Text;
using ReferralBroker.Sealing;
using ReferralBroker.Tests.Integration;
using ReferralBroker.Tokens;

namespace ReferralBroker.Tests.Reliability;

public sealed record SeizureReport(int Places, int MailFiles, long Bytes, int Markers, int Tokens, int Secrets, int Hits, IReadOnlyList<string> Found)
{
    public override string ToString() =>
        $"seizure: places={Places} mailFiles={MailFiles} bytes={Bytes} markers={Markers} tokens={Tokens} secrets={Secrets} hits={Hits}" +
        (Found.Count > 0 ? " found: " + string.Join(", ", Found.Take(10)) : "");
}

/// <summary>
/// What someone who takes the broker gets: every file in its data folder (the SQLite file with its queue, any
/// journal, the development mailbox's files) and every log line, searched for what clients said, their tokens, and
/// anything that opens a sealed referral (link secrets, derived keys, capabilities, the pepper) in UTF-8, UTF-16,
/// raw bytes, hex and standard base64. The mailbox is searched like every other place: it holds the partner's
/// email, so S, sealed under a key the process kept in memory.
/// </summary>
public static class Seizure
{
    public static SeizureReport Search(FaultRun run, string dataPath) =>
        Search(run.Logs, run.Referrals.Select(r => r.Marker), run.Referrals.Where(r => r.Acknowledged is not null).Select(r => r.Acknowledged!.StatusToken),
            run.Links.Values, dataPath);

    public static SeizureReport Search(IEnumerable<string> logs, IEnumerable<string> clientMarkers, IEnumerable<string> statusTokens,
        IEnumerable<PartnerLink> partnerLinks, string dataPath)
    {
        var links = partnerLinks.ToList();
        var places = new Dictionary<string, byte[]>
        {
            ["logs"] = Encoding.UTF8.GetBytes(string.Join('\n', logs)),
        };
        foreach (var file in Directory.GetFiles(dataPath, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith("pepper.key", StringComparison.Ordinal)))
        {
            places[Path.GetRelativePath(dataPath, file)] = ReadShared(file);
        }

        var pepper = File.ReadAllText(Path.Combine(dataPath, "pepper.key")).Trim();
        var markers = clientMarkers.ToList();
        var tokens = statusTokens.SelectMany(t => new[] { t, t.Replace("-", "", StringComparison.Ordinal) }).ToList();
        var keys = links.SelectMany(l => new[]
        {
            l.SecretBytes,
            ReferralSeal.DeriveCapability(l.SecretBytes, l.ReferralId),
            ReferralSeal.DeriveKey(l.SecretBytes, l.ReferralId),
        }).Append(PepperBytes(pepper)).SelectMany(Encodings).ToList();

        var needles = new Needles(markers.Concat(tokens).SelectMany(t => new[] { Encoding.UTF8.GetBytes(t), Encoding.Unicode.GetBytes(t) })
            .Concat(keys));
        var found = new List<string>();
        foreach (var (place, bytes) in places)
        {
            if (needles.AnyIn(bytes))
            {
                found.Add(place);
            }
        }

        return new SeizureReport(places.Count, places.Keys.Count(p => p.StartsWith("mail", StringComparison.Ordinal)),
            places.Values.Sum(b => (long)b.Length), markers.Count, tokens.Count / 2, links.Count, found.Count, found);
    }

    /// <summary>The pepper file holds base64; a test that plants its own text pepper is searched for that text.</summary>
    private static byte[] PepperBytes(string pepper)
    {
        var bytes = new byte[pepper.Length];
        return Convert.TryFromBase64String(pepper, bytes, out var length) ? bytes[..length] : Encoding.ASCII.GetBytes(pepper);
    }

    /// <summary>A secret as raw bytes and in every text form a file or a log line could spell it.</summary>
    public static IEnumerable<byte[]> Encodings(byte[] secret)
    {
        yield return secret;
        foreach (var text in new[] { Base64Url.Encode(secret), Convert.ToBase64String(secret), Convert.ToHexStringLower(secret), Convert.ToHexString(secret) })
        {
            yield return Encoding.ASCII.GetBytes(text);
            yield return Encoding.Unicode.GetBytes(text);
        }
    }

    /// <summary>
    /// Thousands of needles in megabytes: every window of each needle length is looked up in a set, instead of
    /// one scan per needle.
    /// </summary>
    internal sealed class Needles
    {
        private readonly Dictionary<int, HashSet<string>> _byLength;

        public Needles(IEnumerable<byte[]> needles) => _byLength = needles
            .GroupBy(n => n.Length)
            .ToDictionary(g => g.Key, g => g.Select(n => Encoding.Latin1.GetString(n)).ToHashSet(StringComparer.Ordinal));

        public bool AnyIn(byte[] haystack)
        {
            var text = Encoding.Latin1.GetString(haystack);
            foreach (var (length, set) in _byLength)
            {
                var lookup = set.GetAlternateLookup<ReadOnlySpan<char>>();
                for (var i = 0; i + length <= text.Length; i++)
                {
                    if (lookup.Contains(text.AsSpan(i, length)))
                    {
                        return true;
                    }
                }
            }

            return false;
        }
    }

    private static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
