using System.Net;
using System.Text.Json;
using ReferralBroker.Lifecycle;
using ReferralBroker.Tests.Integration;

namespace ReferralBroker.Tests.Reliability;

/// <summary>What the caller learnt from one attempt: it happened, it was refused, or nobody knows (crash, 5xx).</summary>
public enum Outcome
{
    Ok,
    Refused,
    Unknown,
}

public sealed record Attempt(string Target, Outcome Outcome);

/// <summary>Everything the run did to one referral and what it was told, for the checker.</summary>
public sealed class TrackedReferral(string idempotencyKey, string marker, JsonElement body)
{
    public string IdempotencyKey { get; } = idempotencyKey;
    public string Marker { get; } = marker;
    public JsonElement Body { get; } = body;
    public Submitted? Acknowledged { get; set; }
    public List<Attempt> Attempts { get; } = [];
    public List<string> SeenStatuses { get; } = [];
    public int IdempotencyViolations { get; set; }
}

/// <summary>The broker's final word on one referral, read after the run with every fault healed.</summary>
public sealed record FinalState(string? OrganisationStatus, string? ClientStatus, string[] History, bool DeliveryFailed, int Emails, DateTimeOffset ExpiresAt);

public sealed record Verdict(int Referrals, int Lost, int DuplicatedEmails, int InconsistentStatuses, int MarkedForResending, List<string> Problems);

/// <summary>
/// Proves the history: for every referral acknowledged with 201, nothing lost, one email, and a status that the
/// operations explain and that the client's token reports truthfully.
/// </summary>
public static class HistoryChecker
{
    public static Outcome Classify(HttpStatusCode status) => (int)status switch
    {
        >= 200 and < 300 => Outcome.Ok,
        404 or 409 => Outcome.Refused,
        _ => Outcome.Unknown,
    };

    public static Verdict Check(IEnumerable<TrackedReferral> tracked, IReadOnlyDictionary<string, FinalState> finals, DateTimeOffset now)
    {
        int referrals = 0, lost = 0, duplicated = 0, inconsistent = 0, marked = 0;
        var problems = new List<string>();
        foreach (var t in tracked.Where(t => t.Acknowledged is not null))
        {
            referrals++;
            var id = t.Acknowledged!.ReferralId;
            var final = finals[id];
            if (final.OrganisationStatus is null)
            {
                lost++;
                problems.Add($"{id}: acknowledged but gone");
                continue;
            }

            marked += final.DeliveryFailed ? 1 : 0;
            if (final.Emails > 1)
            {
                duplicated++;
                problems.Add($"{id}: {final.Emails} emails");
            }

            var endedBeforeDelivery = final.OrganisationStatus is "withdrawn" or "expired";
            if (final.Emails == 0 && !final.DeliveryFailed && !endedBeforeDelivery)
            {
                lost++;
                problems.Add($"{id}: never emailed, not marked, status {final.OrganisationStatus}");
            }

            var reasons = Inconsistencies(t, final, now).ToList();
            if (reasons.Count > 0)
            {
                inconsistent++;
                problems.Add($"{id}: {string.Join("; ", reasons)}");
            }
        }

        return new Verdict(referrals, lost, duplicated, inconsistent, marked, problems);
    }

    private static IEnumerable<string> Inconsistencies(TrackedReferral t, FinalState final, DateTimeOffset now)
    {
        if (t.IdempotencyViolations > 0)
        {
            yield return "a retry with the same Idempotency-Key answered another referral";
        }

        if (final.ClientStatus != final.OrganisationStatus)
        {
            yield return $"the token says {final.ClientStatus}, the organisation sees {final.OrganisationStatus}";
        }

        if (final.History is not ["submitted", ..] || final.History[^1] != final.OrganisationStatus)
        {
            yield return $"history {string.Join(">", final.History)} does not run from submitted to {final.OrganisationStatus}";
        }

        foreach (var (from, to) in final.History.Zip(final.History.Skip(1)))
        {
            if (!Allowed(from, to))
            {
                yield return $"{from} -> {to} is not a lifecycle transition";
            }
        }

        foreach (var status in final.History.Skip(1))
        {
            var explained = status switch
            {
                "delivered" => final.Emails > 0,
                "expired" => now >= final.ExpiresAt,
                // A partner's action or the client's withdrawal: someone must have asked, even if the answer was lost.
                _ => t.Attempts.Any(a => a.Target == status && a.Outcome != Outcome.Refused),
            };
            if (!explained)
            {
                yield return $"{status} in the history, but nothing asked for it";
            }
        }

        foreach (var attempt in t.Attempts.Where(a => a.Outcome == Outcome.Ok && !final.History.Contains(a.Target)))
        {
            yield return $"{attempt.Target} was answered 200 but is not in the history";
        }

        foreach (var seen in t.SeenStatuses.Where(s => !final.History.Contains(s)))
        {
            yield return $"the token once showed {seen}, which the referral never was";
        }
    }

    private static bool Allowed(string from, string to) =>
        WireNames.TryParse(from, out ReferralStatus f) && WireNames.TryParse(to, out ReferralStatus t)
        && Enum.GetValues<ReferralEvent>().Any(e => ReferralLifecycle.TryApply(f, e, out var next) && next == t);
}
