namespace ReferralBroker.Pages;

/// <summary>The words of the partner's page (wwwroot/partner.html, assets/partner.js): PartnerText.resx and one file per language.</summary>
internal sealed class PartnerText;
