using System.Security.Cryptography;
using System.Text;
using ReferralBroker.Tokens;

namespace ReferralBroker.Referrals;

/// <summary>What a referring caseworker needs to know to trust a partner with a client (the directory's taxonomy).</summary>
public static class SafetyAttributes
{
    public const string NoIdRequired = "no-id-required";
    public const string NoSharingWithPoliceOrImmigration = "no-sharing-with-police-or-immigration-unless-compelled";
    public const string SexWorkerLed = "sex-worker-led";
    public const string SexWorkerFriendly = "sex-worker-friendly";
    /// <summary>The partner's address is not given out: clients reach it through its front desk only.</summary>
    public const string ConfidentialAddress = "confidential-address";
    public const string AcceptingReferrals = "accepting-referrals";

    public static readonly IReadOnlyList<string> All =
    [
        NoIdRequired, NoSharingWithPoliceOrImmigration, SexWorkerLed, SexWorkerFriendly, ConfidentialAddress, AcceptingReferrals,
    ];
}

/// <summary>
/// Why an organisation flags a partner. A fixed list, no free text: a flag must never become a place where a
/// client's story is written down.
/// </summary>
public static class FlagReasons
{
    public static readonly IReadOnlyList<string> All =
    [
        "shared-client-details-without-consent",
        "contacted-police-or-immigration",
        "demanded-identity-documents",
        "exposed-client-identity",
        "other-confidentiality-breach",
    ];
}

/// <summary>One organisation's flag on a partner: ids, a reason from <see cref="FlagReasons"/> and a date, nothing else.</summary>
public sealed record PartnerFlag(string PartnerId, string OrganisationId, string Reason, DateTimeOffset FlaggedAt);

/// <summary>An organisation with the hash of its current API key (none until the coordinator issues one).</summary>
public sealed record OrganisationAccount(Organisation Organisation, string? ApiKeySha256, DateTimeOffset? KeyIssuedAt)
{
    /// <summary>
    /// Set while the coordinator has deactivated the organisation: its key opens nothing, but it stays in the
    /// directory and in reports, and the referrals it made keep working for partners and clients.
    /// </summary>
    public DateTimeOffset? DeactivatedAt { get; init; }

    public bool Active => DeactivatedAt is null;
}

public sealed record DirectoryContents(IReadOnlyList<OrganisationAccount> Organisations, IReadOnlyList<Partner> Partners)
{
    /// <summary>Staff members' personal keys (hashes only); configuration never seeds any.</summary>
    public IReadOnlyList<StaffCredential> Staff { get; init; } = [];
}

/// <summary>Organisation API keys: long random strings shown once, kept only as lower-case hex SHA-256.</summary>
public static class ApiKeys
{
    /// <summary>256 random bits: a hash without a pepper is then as strong as the key itself.</summary>
    public static string Generate() => "rbk_" + Base64Url.Encode(RandomNumberGenerator.GetBytes(32));

    public static string Hash(string apiKey) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(apiKey)));

    public static bool IsHash(string? text) => text is { Length: 64 } && text.All(char.IsAsciiHexDigitLower);
}
