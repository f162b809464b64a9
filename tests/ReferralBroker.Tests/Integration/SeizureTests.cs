using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using ReferralBroker.Sealing;

namespace ReferralBroker.Tests.Integration;

/// <summary>
/// If the broker is seized: after a run of referrals through every path, nothing a client said, no status token,
/// no link secret, capability or derived key can be found anywhere in its data folder (the database file, its
/// write-ahead log and index, the development mailbox) or its logs, and nothing found there opens an open referral.
/// </summary>
public sealed partial class SeizureTests : IDisposable
{
    private readonly BrokerApp _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task A_seized_broker_yields_no_client_data_tokens_or_link_secrets()
    {
        var markers = new List<string>();
        var tokens = new List<string>();
        var referralIds = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var marker = $"SEIZE{i}MARK{Guid.NewGuid():N}";
            markers.Add(marker);
            var submitted = await _app.SubmitAsync(BrokerApp.Referral(marker));
            tokens.Add(submitted.StatusToken);
            referralIds.Add(submitted.ReferralId);
        }

        await _app.DispatchAsync();
        // In submission order, so links[i] is tokens[i]'s referral (the outbox files sort by their random ids).
        var links = referralIds.Select(_app.LinkFor).ToList();

        // Every path: accepted and worked on, declined, withdrawn, left open, expired, status checked.
        var partner = (int i) => _app.Partner(links[i]);
        string Url(int i, string action) => $"/api/partner/referrals/{links[i].ReferralId}{action}";
        await partner(0).PostAsync(Url(0, "/accept"), null);
        await partner(0).PostAsJsonAsync(Url(0, "/progress"), new { status = "in-progress" });
        await partner(1).PostAsJsonAsync(Url(1, "/decline"), new { reason = "other" });
        // The emails come in no particular order: withdraw the referral no partner has touched.
        await _app.StatusAsync(tokens[2], "/api/status/withdraw");
        await partner(3).PostAsync(Url(3, "/accept"), null);
        foreach (var token in tokens)
        {
            await _app.CreateClient().PostAsJsonAsync("/api/status", new { token = token.ToLowerInvariant() });
        }

        await partner(4).GetAsync(Url(4, ""));
        _app.Time.Advance(TimeSpan.FromDays(31));
        await _app.SweepAsync();

        // Two referrals still open when the broker is taken: one waiting for its partner, one accepted.
        var open = new List<PartnerLink>();
        for (var i = 8; i < 10; i++)
        {
            var marker = $"SEIZE{i}MARK{Guid.NewGuid():N}";
            markers.Add(marker);
            var submitted = await _app.SubmitAsync(BrokerApp.Referral(marker));
            tokens.Add(submitted.StatusToken);
            await _app.DispatchAsync();
            open.Add(_app.LinkFor(submitted.ReferralId));
        }

        links.AddRange(open);
        await _app.Partner(open[1]).PostAsync($"/api/partner/referrals/{open[1].ReferralId}/accept", null);
        await _app.SweepAsync();

        await _app.Services.GetRequiredService<Embedded.SqliteDatabase>().CheckpointAsync(CancellationToken.None);
        var places = new Dictionary<string, byte[]>
        {
            ["logs"] = Encoding.UTF8.GetBytes(string.Join('\n', _app.Logs)),
        };
        // The whole data folder, the development mailbox included: a seizure takes every file.
        foreach (var file in Directory.GetFiles(_app.DataPath, "*", SearchOption.AllDirectories))
        {
            places[Path.GetRelativePath(_app.DataPath, file)] = await BrokerApp.ReadSharedAsync(file);
        }

        Assert.True(places["broker.db"].Length > 0);
        // The write-ahead log and its index hold earlier images of rewritten pages: they are searched too.
        Assert.Contains("broker.db-wal", places.Keys);
        Assert.Contains("broker.db-shm", places.Keys);
        // The partner emails are on disk, where the seizure looks: those of the two open referrals among them.
        Assert.All(open, link => Assert.Contains(places.Keys, p => p.StartsWith("mail", StringComparison.Ordinal)
            && p.Contains($"-{link.ReferralId}-", StringComparison.Ordinal) && p.EndsWith(Embedded.DevelopmentMailbox.Extension, StringComparison.Ordinal)));
        Assert.NotEmpty(_app.Logs);
        var secretForms = links.SelectMany(l => new[] { l.SecretBytes, ReferralSeal.DeriveCapability(l.SecretBytes, l.ReferralId), ReferralSeal.DeriveKey(l.SecretBytes, l.ReferralId) })
            .SelectMany(Reliability.Seizure.Encodings).ToList();
        foreach (var (place, bytes) in places.Where(p => p.Key != "pepper.key"))
        {
            foreach (var marker in markers)
            {
                AssertAbsent(place, bytes, marker);
            }

            foreach (var token in tokens)
            {
                AssertAbsent(place, bytes, token);
                AssertAbsent(place, bytes, token.Replace("-", "", StringComparison.Ordinal));
            }

            foreach (var secret in secretForms)
            {
                Assert.False(bytes.AsSpan().IndexOf(secret) >= 0, $"A link secret, capability or key of a referral was found in {place}");
            }
        }

        // And whatever the seizer might take for a secret (every run of 43 base64url characters, 44 of base64, 64
        // hex digits, and every 32 bytes of the mailbox's files) opens no referral that is still open.
        var sealedOpen = new List<(string Id, SealedReferral Sealed)>();
        foreach (var link in links)
        {
            var record = await _app.Services.GetRequiredService<Ports.IReferralStore>().FindAsync(link.ReferralId, CancellationToken.None);
            if (record?.Value.Sealed is { } sealedReferral)
            {
                sealedOpen.Add((link.ReferralId, sealedReferral));
            }
        }

        // The two open ones, and only they: the sweep destroyed the others' details.
        Assert.Equal(open.Select(l => l.ReferralId).Order(), sealedOpen.Select(o => o.Id).Order());
        // The test's own links do open them: a candidate that did would be caught.
        Assert.All(open, link => ReferralSeal.Open(link.ReferralId, sealedOpen.Single(o => o.Id == link.ReferralId).Sealed, link.SecretBytes));
        var candidates = places.SelectMany(p => Candidates(p.Key, p.Value)).Distinct(ByteArrays.Instance).ToList();
        Assert.True(candidates.Count > 100, $"Only {candidates.Count} candidate secrets: the search looked at nothing.");
        foreach (var candidate in candidates)
        {
            foreach (var (id, sealedReferral) in sealedOpen)
            {
                Assert.Throws<AuthenticationTagMismatchException>(() => ReferralSeal.Open(id, sealedReferral, candidate));
            }
        }
    }

    private static IEnumerable<byte[]> Candidates(string place, byte[] bytes)
    {
        var text = Encoding.Latin1.GetString(bytes);
        foreach (Match match in CandidatePattern().Matches(text))
        {
            var value = match.Value;
            var decoded = value.Length switch
            {
                43 => Tokens.Base64Url.TryDecode(value),
                44 => TryBase64(value),
                _ => Convert.FromHexString(value),
            };
            if (decoded is { Length: ReferralSeal.LinkSecretBytes })
            {
                yield return decoded;
            }
        }

        if (place.StartsWith("mail", StringComparison.Ordinal))
        {
            for (var i = 0; i + ReferralSeal.LinkSecretBytes <= bytes.Length; i++)
            {
                yield return bytes[i..(i + ReferralSeal.LinkSecretBytes)];
            }
        }
    }

    private static byte[]? TryBase64(string value)
    {
        var buffer = new byte[33];
        return Convert.TryFromBase64String(value, buffer, out var written) ? buffer[..written] : null;
    }

    [GeneratedRegex("(?<![A-Za-z0-9_+/-])(?:[A-Za-z0-9_-]{43}|[A-Za-z0-9+/]{43}=|[0-9a-fA-F]{64})(?![A-Za-z0-9_+/=-])")]
    private static partial Regex CandidatePattern();

    private sealed class ByteArrays : IEqualityComparer<byte[]>
    {
        public static readonly ByteArrays Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj)
        {
            var hash = new HashCode();
            hash.AddBytes(obj);
            return hash.ToHashCode();
        }
    }

    private static void AssertAbsent(string place, byte[] haystack, string needle)
    {
        Assert.False(haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0, $"'{needle}' found in {place}");
        Assert.False(haystack.AsSpan().IndexOf(Encoding.Unicode.GetBytes(needle)) >= 0, $"'{needle}' (UTF-16) found in {place}");
    }
}
