namespace ReferralBroker.Pages;

/// <summary>
/// The words of the impact report page (wwwroot/reports.html and assets/reports.js): ReportsText.resx (English) and
/// one ReportsText.{language}.resx for each other language of <see cref="ClientLanguages"/>.
/// </summary>
internal sealed class ReportsText;
