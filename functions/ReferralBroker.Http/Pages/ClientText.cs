namespace ReferralBroker.Pages;

/// <summary>
/// The words of every page a client sees: ClientText.resx (English) and one ClientText.{language}.resx for each
/// other language of <see cref="ClientLanguages"/>. A test fails when any file lacks a key.
/// </summary>
internal sealed class ClientText;
