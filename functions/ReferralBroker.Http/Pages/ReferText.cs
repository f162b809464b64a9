namespace ReferralBroker.Pages;

/// <summary>The words of the caseworker's intake page (wwwroot/refer.html): ReferText.resx and one file per language.</summary>
internal sealed class ReferText;
