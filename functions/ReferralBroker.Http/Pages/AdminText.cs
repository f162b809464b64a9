namespace ReferralBroker.Pages;

/// <summary>
/// The words of the coordinator's console (wwwroot/admin.html and assets/admin.js): AdminText.resx (English) and one
/// AdminText.{language}.resx for each other language of <see cref="ClientLanguages"/>.
/// </summary>
internal sealed class AdminText;
