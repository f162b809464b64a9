namespace ReferralBroker.Pages;

/// <summary>The words of the caseworker's referrals page (wwwroot/referrals.html): ReferralsText.resx and one file per language.</summary>
internal sealed class ReferralsText;
