using System.Security.Cryptography;
using ReferralBroker.Hosting;
using ReferralBroker.Referrals;

namespace ReferralBroker.Embedded;

/// <summary>
/// The network a newcomer gets on the embedded default: one organisation and one partner per category, all at
/// example.org, so the whole loop can be tried with curl and the outbox folder.
/// </summary>
internal static class DemoNetwork
{
    public const string OrganisationId = "demo-org";

    public static (IReadOnlyList<PartnerOptions> Partners, OrganisationOptions Organisation, string? GeneratedKey) Create(DemoOptions demo)
    {
        // Empty counts as absent: an environment variable set to nothing must not become the key.
        var configured = string.IsNullOrEmpty(demo.OrgApiKey) ? null : demo.OrgApiKey;
        var generated = configured is null ? "demo_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20)) : null;
        var organisation = new OrganisationOptions
        {
            Id = OrganisationId,
            Name = "Demo outreach organisation",
            ApiKeySha256 = ApiKeys.Hash(configured ?? generated!),
        };
        PartnerOptions[] partners =
        [
            new() { Id = "demo-health", Name = "Demo community clinic", Email = "intake@health.example.org", Categories = ["health"], Languages = ["en", "th", "es", "ro"],
                Attributes = [SafetyAttributes.NoIdRequired, SafetyAttributes.SexWorkerFriendly, SafetyAttributes.AcceptingReferrals] },
            new() { Id = "demo-legal", Name = "Demo migrant legal aid", Email = "intake@legal.example.org", Categories = ["legal"], Languages = ["en", "es", "pt"],
                Attributes = [SafetyAttributes.NoSharingWithPoliceOrImmigration, SafetyAttributes.AcceptingReferrals] },
            new() { Id = "demo-employment", Name = "Demo jobs and language programme", Email = "intake@employment.example.org", Categories = ["employment"], Languages = ["en", "th", "tl"],
                Attributes = [SafetyAttributes.SexWorkerLed, SafetyAttributes.NoIdRequired, SafetyAttributes.AcceptingReferrals] },
        ];
        return (partners, organisation, generated);
    }
}
