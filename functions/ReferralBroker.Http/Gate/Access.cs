namespace ReferralBroker.Gate;

/// <summary>Who may call a route, and under which limits: one rule per route group, read by the gate.</summary>
public enum Access
{
    /// <summary>Pages, the directory, the assets: no key, no per-address limit.</summary>
    Anyone,

    /// <summary>
    /// An organisation's API key ("Authorization: Bearer &lt;key&gt;"), or one of its caseworkers' personal keys:
    /// either acts as the organisation.
    /// </summary>
    Organisation,

    /// <summary>
    /// The network coordinator's key, configured or a coordinator's personal key; an organisation's or a caseworker's
    /// key is told 403, anything else 401.
    /// </summary>
    Coordinator,

    /// <summary>A partner's capability in its header: rate-limited per address and under the guessing budget.</summary>
    Partner,

    /// <summary>A client's status lookup (API): rate-limited per address and under the guessing budget.</summary>
    ClientStatus,

    /// <summary>The client's status page: the limits of <see cref="ClientStatus"/>, refused with a page in her language.</summary>
    ClientStatusPage,

    /// <summary>Any staff key the broker knows (an organisation's, a caseworker's, a coordinator's): who am I.</summary>
    Staff,

    /// <summary>
    /// An organisation's own system key only (it manages its caseworkers' keys); a caseworker's key is told 403, so
    /// that one leaked personal key cannot issue others.
    /// </summary>
    OrganisationSystem,
}

/// <summary>
/// The organisation's own budget a route spends, on top of <see cref="Access.Organisation"/>: one leaked key must not
/// flood the partners' inboxes (submissions) or pause partners (flags).
/// </summary>
public enum OrganisationLimit
{
    None,

    /// <summary>Broker:RateLimits:SubmissionsPerMinute, per organisation.</summary>
    Submissions,

    /// <summary>Broker:RateLimits:FlagsPerMinute, per organisation.</summary>
    Flags,
}

/// <summary>
/// The access rule of a route group (embedded host: endpoint metadata) or of a function (worker: on its class or
/// method). The same attribute in both places, so the gate reads one rule whatever the hosting.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, Inherited = false)]
public sealed class GateAttribute(Access access) : Attribute
{
    public Access Access { get; } = access;

    /// <summary>Which of the organisation's budgets the route spends (with <see cref="Access.Organisation"/> only).</summary>
    public OrganisationLimit Limit { get; set; }
}
