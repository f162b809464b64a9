using System.Security.Cryptography;
using System.Text;
using ReferralBroker.Lifecycle;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using ReferralBroker.Sealing;
using ReferralBroker.Tokens;

namespace ReferralBroker.Azure.Tests.TableStorage;

/// <summary>Realistic records: real seals, peppered token hashes, times with sub-millisecond ticks.</summary>
internal static class Records
{
    private static readonly Pepper TestPepper = new(RandomNumberGenerator.GetBytes(32));

    /// <summary>A time with ticks below the millisecond, so that any loss of precision shows.</summary>
    public static readonly DateTimeOffset Now = new DateTimeOffset(2026, 3, 14, 15, 9, 26, TimeSpan.Zero).AddTicks(5_358_979);

    public static string NewReferralId() => "ref_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    /// <summary>The client's record this hash opens; null for a miss and for a duress token, which opens none.</summary>
    public static async Task<Versioned<ReferralRecord>?> FindClientByTokenHashAsync(this IReferralStore store, string tokenHash, CancellationToken ct) =>
        (await store.FindByTokenHashAsync(tokenHash, ct)) is TokenMatch.Client { Found: var found } ? found : null;

    public static string NewTokenHash() => TestPepper.HashToken(StatusToken.Normalise(StatusToken.Generate())!);

    public static ReferralRecord Submitted(string? clientJson = null, DateTimeOffset? now = null) => Submitted(clientJson, out _, now);

    public static ReferralRecord Submitted(string? clientJson, out byte[] linkSecret, DateTimeOffset? now = null)
    {
        var at = now ?? Now;
        var referralId = NewReferralId();
        var seal = ReferralSeal.Seal(referralId, Encoding.UTF8.GetBytes(clientJson ?? """{"firstName":"Ana","contact":"+34 600 000 000"}"""));
        linkSecret = seal.LinkSecret;
        return new ReferralRecord
        {
            ReferralId = referralId,
            OrganisationId = "org-casa",
            PartnerId = "partner-legal",
            Category = ServiceCategory.Legal,
            ConsentObtainedBy = ConsentMethod.Written,
            Status = ReferralStatus.Submitted,
            CreatedAt = at,
            UpdatedAt = at,
            ExpiresAt = at.AddDays(30),
            TokenHash = NewTokenHash(),
            CapabilityHash = seal.CapabilityHash,
            History = [new StatusChange(ReferralStatus.Submitted, at)],
            Sealed = seal.Sealed,
            PurgeAt = at.AddDays(60),
        };
    }

    /// <summary>A record that has been through several transitions and carries every optional field.</summary>
    public static ReferralRecord Accepted(DateTimeOffset? now = null)
    {
        var retention = new RetentionPolicy();
        var submitted = Submitted(now: now);
        var delivered = Transitions.Apply(submitted, ReferralEvent.Deliver, submitted.CreatedAt.AddTicks(1_234_567), retention)!;
        return Transitions.Apply(delivered, ReferralEvent.Accept, delivered.UpdatedAt.AddHours(3).AddTicks(7), retention)!;
    }

    public static ReferralRecord Declined(DateTimeOffset? now = null)
    {
        var submitted = Submitted(now: now);
        return Transitions.Apply(submitted, ReferralEvent.Decline, submitted.CreatedAt.AddMinutes(5), new RetentionPolicy(),
            DeclineReason.NoCapacity)!;
    }

    /// <summary>Field-by-field: the record type compares its history list by reference.</summary>
    public static void AssertSame(ReferralRecord expected, ReferralRecord actual)
    {
        Assert.Equal(expected.ReferralId, actual.ReferralId);
        Assert.Equal(expected.OrganisationId, actual.OrganisationId);
        Assert.Equal(expected.PartnerId, actual.PartnerId);
        Assert.Equal(expected.Category, actual.Category);
        Assert.Equal(expected.ConsentObtainedBy, actual.ConsentObtainedBy);
        Assert.Equal(expected.Status, actual.Status);
        AssertSameInstant(expected.CreatedAt, actual.CreatedAt);
        AssertSameInstant(expected.UpdatedAt, actual.UpdatedAt);
        AssertSameInstant(expected.ExpiresAt, actual.ExpiresAt);
        Assert.Equal(expected.TokenHash, actual.TokenHash);
        Assert.Equal(expected.CapabilityHash, actual.CapabilityHash);
        Assert.Equal(expected.History.Count, actual.History.Count);
        foreach (var (e, a) in expected.History.Zip(actual.History))
        {
            Assert.Equal(e.Status, a.Status);
            AssertSameInstant(e.At, a.At);
        }

        Assert.Equal(expected.Sealed, actual.Sealed);
        Assert.Equal(expected.SealedDeleteAt?.UtcTicks, actual.SealedDeleteAt?.UtcTicks);
        AssertSameInstant(expected.PurgeAt, actual.PurgeAt);
        Assert.Equal(expected.DeclineReason, actual.DeclineReason);
        Assert.Equal(expected.Notifications.Count, actual.Notifications.Count);
        foreach (var (e, a) in expected.Notifications.Zip(actual.Notifications))
        {
            Assert.Equal(e with { At = a.At, NextAttemptAt = a.NextAttemptAt }, a);
            AssertSameInstant(e.At, a.At);
            AssertSameInstant(e.NextAttemptAt, a.NextAttemptAt);
        }

        Assert.Equal(expected.DuressTokenHash, actual.DuressTokenHash);
        Assert.Equal(expected.DuressUsedAt?.UtcTicks, actual.DuressUsedAt?.UtcTicks);
    }

    private static void AssertSameInstant(DateTimeOffset expected, DateTimeOffset actual) => Assert.Equal(expected.UtcTicks, actual.UtcTicks);
}
