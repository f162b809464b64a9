using System.Diagnostics.CodeAnalysis;

namespace ReferralBroker.Azure.TableStorage;

/// <summary>Where the status records live and how the broker proves who it is to the Table service.</summary>
public sealed class TableStorageOptions
{
    /// <summary>
    /// The table endpoint: <c>https://{account}.table.core.windows.net</c>, or the path-style
    /// <c>http://127.0.0.1:10002/devstoreaccount1</c> of Azurite.
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Needed with <see cref="AccountKey"/> only: the shared key credential names the account.</summary>
    public string? AccountName { get; set; }

    /// <summary>
    /// Base64 account key for SharedKey auth (Azurite, local runs). Leave unset in Azure: the broker then uses
    /// Entra ID tokens and the account can refuse shared keys altogether.
    /// </summary>
    public string? AccountKey { get; set; }

    /// <summary>Prefixed to every table name, so that several deployments or test runs can share an account.</summary>
    public string TablePrefix { get; set; } = "broker";

    [MemberNotNullWhen(true, nameof(AccountKey))]
    public bool UsesSharedKey => AccountKey is not null;

    /// <summary>What is wrong with these options, in words safe to log (never the key itself).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Endpoint is null)
        {
            errors.Add("TableStorage:Endpoint is required.");
        }
        else if (!Endpoint.IsAbsoluteUri || Endpoint.Scheme is not ("https" or "http"))
        {
            errors.Add("TableStorage:Endpoint must be an absolute http(s) URI.");
        }
        else if (!UsesSharedKey && Endpoint.Scheme != "https")
        {
            errors.Add("TableStorage:Endpoint must use https when tokens authorize the requests (no AccountKey).");
        }

        if (UsesSharedKey)
        {
            if (string.IsNullOrWhiteSpace(AccountName))
            {
                errors.Add("TableStorage:AccountName is required with an AccountKey.");
            }

            if (!Convert.TryFromBase64String(AccountKey, new byte[AccountKey.Length], out var written) || written == 0)
            {
                errors.Add("TableStorage:AccountKey must be the base64 account key.");
            }
        }

        if (!TableKeys.IsValidTablePrefix(TablePrefix))
        {
            errors.Add($"TableStorage:TablePrefix must be a letter followed by letters or digits, at most {TableKeys.MaxTablePrefixLength} characters.");
        }

        return errors;
    }
}
