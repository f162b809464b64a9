using System.Text;
using ReferralBroker.Sealing;
using ReferralBroker.Tests.Integration;
using ReferralBroker.Tokens;

namespace ReferralBroker.Tests.Reliability;

public sealed record SeizureReport(int Places, long Bytes, int Markers, int Tokens, int Secrets, int Hits, IReadOnlyList<string> Found)
{
    public override string ToString() =>
        $"seizure: places={Places} bytes={Bytes} markers={Markers} tokens={Tokens} secrets={Secrets} hits={Hits}" +
        (Found.Count > 0 ? " found: " + string.Join(", ", Found.Take(10)) : "");
}

/// <summary>
/// What someone who takes the broker gets: every file in its data folder (the SQLite file with its queue, any
/// journal, the outbox) and every log line, searched for what clients said, their tokens, and anything that
/// opens a sealed referral (link secrets, derived keys, capabilities), in UTF-8, UTF-16 and raw bytes.
/// </summary>
public static class Seizure
{
    public static SeizureReport Search(FaultRun run, string dataPath) =>
        Search(run.Logs, run.Referrals.Select(r => r.Marker), run.Referrals.Where(r => r.Acknowledged is not null).Select(r => r.Acknowledged!.StatusToken),
            run.Links.Values, dataPath);

    /// <param name="exemptMail">False when no file may hold S, mail included (the SMTP mode writes no mail).</param>
    public static SeizureReport Search(IEnumerable<string> logs, IEnumerable<string> clientMarkers, IEnumerable<string> statusTokens,
        IEnumerable<PartnerLink> partnerLinks, string dataPath, bool exemptMail = true)
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
        // The outbox is the partner's mail: it carries S by design, but never a derived key or capability.
        var secrets = links.Select(l => Encoding.ASCII.GetBytes(l.Secret)).Concat(links.Select(l => l.SecretBytes)).ToList();
        var keys = links.SelectMany(l => new[]
        {
            Encoding.ASCII.GetBytes(l.Capability),
            ReferralSeal.DeriveKey(l.SecretBytes, l.ReferralId),
            Encoding.ASCII.GetBytes(Base64Url.Encode(ReferralSeal.DeriveKey(l.SecretBytes, l.ReferralId))),
        }).Append(Encoding.ASCII.GetBytes(pepper)).ToList();

        var everywhere = new Needles(markers.Concat(tokens).SelectMany(t => new[] { Encoding.UTF8.GetBytes(t), Encoding.Unicode.GetBytes(t) })
            .Concat(keys));
        var outsideOutbox = new Needles(secrets);
        var found = new List<string>();
        foreach (var (place, bytes) in places)
        {
            if (everywhere.AnyIn(bytes) || ((!exemptMail || !place.StartsWith("mail", StringComparison.Ordinal)) && outsideOutbox.AnyIn(bytes)))
            {
                found.Add(place);
            }
        }

        return new SeizureReport(places.Count, places.Values.Sum(b => (long)b.Length), markers.Count, tokens.Count / 2,
            links.Count, found.Count, found);
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
