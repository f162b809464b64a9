using Azure.Core;
using System.Text;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using ReferralBroker.Azure.TableStorage;
using ReferralBroker.Lifecycle;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using ReferralBroker.Reports;
using ReferralBroker.Sealing;

namespace ReferralBroker.Azure.Tests.TableStorage;

[Collection(AzuriteCollection.Name)]
public sealed class TableReferralStoreTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task A_created_record_is_found_by_id_and_by_token_hash_with_every_field_intact()
    {
        var (store, _, _) = NewStore();
        var record = Records.Accepted();

        Assert.True(await store.TryCreateAsync(record, Ct));

        var byId = await store.FindAsync(record.ReferralId, Ct);
        var byToken = await store.FindClientByTokenHashAsync(record.TokenHash, Ct);
        Assert.NotNull(byId);
        Assert.NotNull(byToken);
        Records.AssertSame(record, byId.Value);
        Records.AssertSame(record, byToken.Value);
        Assert.Equal(byId.Version, byToken.Version);
        Assert.NotNull(byId.Value.Sealed);
        Assert.NotNull(byId.Value.SealedDeleteAt);
        Assert.Equal(3, byId.Value.History.Count);
    }

    [Fact]
    public async Task A_declined_record_without_sealed_referral_keeps_its_decline_reason()
    {
        var (store, _, _) = NewStore();
        var record = Records.Declined();

        Assert.True(await store.TryCreateAsync(record, Ct));

        var found = await store.FindAsync(record.ReferralId, Ct);
        Records.AssertSame(record, found!.Value);
        Assert.Null(found.Value.Sealed);
        Assert.Equal(DeclineReason.NoCapacity, found.Value.DeclineReason);
    }

    [Fact]
    public async Task Not_found_is_null_for_unknown_ids_and_token_hashes_and_for_ids_that_cannot_be_keys()
    {
        var (store, _, _) = NewStore();
        await store.TryCreateAsync(Records.Submitted(), Ct);

        Assert.Null(await store.FindAsync(Records.NewReferralId(), Ct));
        Assert.Null(await store.FindClientByTokenHashAsync(Records.NewTokenHash(), Ct));
        Assert.Null(await store.FindAsync("a/b?c#d", Ct));
        Assert.Null(await store.FindAsync("o'brien (1)", Ct));
        Assert.Null(await store.FindClientByTokenHashAsync("", Ct));
    }

    [Fact]
    public async Task Creating_a_second_record_with_the_same_id_returns_false_and_keeps_the_first()
    {
        var (store, table, _) = NewStore();
        var first = Records.Submitted();
        var second = Records.Submitted() with { ReferralId = first.ReferralId };

        Assert.True(await store.TryCreateAsync(first, Ct));
        Assert.False(await store.TryCreateAsync(second, Ct));

        Records.AssertSame(first, (await store.FindAsync(first.ReferralId, Ct))!.Value);
        // The loser's token must not lead anywhere, and its index entry must not linger.
        Assert.Null(await store.FindClientByTokenHashAsync(second.TokenHash, Ct));
        Assert.Null(await table.GetAsync(TableKeys.TokenIndex(second.TokenHash), Ct));
    }

    [Fact]
    public async Task Creating_the_very_same_record_twice_returns_false_the_second_time()
    {
        var (store, _, _) = NewStore();
        var record = Records.Submitted();

        Assert.True(await store.TryCreateAsync(record, Ct));
        Assert.False(await store.TryCreateAsync(record, Ct));

        Records.AssertSame(record, (await store.FindClientByTokenHashAsync(record.TokenHash, Ct))!.Value);
    }

    [Fact]
    public async Task A_create_whose_responses_were_lost_and_retried_still_reports_the_record_as_created()
    {
        var options = azurite.CreateOptions();
        using var handler = new LoseEveryOtherInsertResponse();
        var clientOptions = new TableClientOptions { Transport = new HttpClientTransport(handler) };
        clientOptions.Retry.Delay = TimeSpan.FromMilliseconds(10);
        var store = new TableReferralStore(options, credential: null, clientOptions);
        var record = Records.Submitted();

        Assert.True(await store.TryCreateAsync(record, Ct));

        Assert.Equal(3, handler.Lost); // the token index's insert, the organisation index's and the record's
        Records.AssertSame(record, (await store.FindClientByTokenHashAsync(record.TokenHash, Ct))!.Value);
    }

    [Fact]
    public async Task Replacing_with_the_current_version_writes_and_a_stale_version_is_a_conflict()
    {
        var (store, _, _) = NewStore();
        var record = Records.Submitted();
        await store.TryCreateAsync(record, Ct);
        var loaded = (await store.FindAsync(record.ReferralId, Ct))!;
        var delivered = Transitions.Apply(loaded.Value, ReferralEvent.Deliver, Records.Now.AddMinutes(1), new RetentionPolicy())!;

        Assert.Equal(WriteOutcome.Written, await store.TryReplaceAsync(delivered, loaded.Version, Ct));
        Assert.Equal(WriteOutcome.Conflict, await store.TryReplaceAsync(delivered, loaded.Version, Ct));

        var reloaded = (await store.FindAsync(record.ReferralId, Ct))!;
        Assert.NotEqual(loaded.Version, reloaded.Version);
        Records.AssertSame(delivered, reloaded.Value);
        Records.AssertSame(delivered, (await store.FindClientByTokenHashAsync(record.TokenHash, Ct))!.Value);
    }

    [Fact]
    public async Task Replacing_a_record_that_does_not_exist_is_not_found()
    {
        var (store, _, _) = NewStore();
        var created = Records.Submitted();
        await store.TryCreateAsync(created, Ct);
        var version = (await store.FindAsync(created.ReferralId, Ct))!.Version;

        Assert.Equal(WriteOutcome.NotFound, await store.TryReplaceAsync(Records.Submitted(), version, Ct));
    }

    [Fact]
    public async Task Two_writers_replacing_the_same_version_at_once_give_exactly_one_winner()
    {
        var (store, _, _) = NewStore();
        var retention = new RetentionPolicy();
        for (var round = 0; round < 10; round++)
        {
            var record = Records.Submitted();
            await store.TryCreateAsync(record, Ct);
            var loaded = (await store.FindAsync(record.ReferralId, Ct))!;
            var accepted = Transitions.Apply(loaded.Value, ReferralEvent.Accept, Records.Now.AddMinutes(1), retention)!;
            var declined = Transitions.Apply(loaded.Value, ReferralEvent.Decline, Records.Now.AddMinutes(1), retention, DeclineReason.Other)!;

            var outcomes = await Task.WhenAll(
                Task.Run(() => store.TryReplaceAsync(accepted, loaded.Version, Ct), Ct),
                Task.Run(() => store.TryReplaceAsync(declined, loaded.Version, Ct), Ct));

            Assert.Single(outcomes, WriteOutcome.Written);
            Assert.Single(outcomes, WriteOutcome.Conflict);
            var winner = outcomes[0] == WriteOutcome.Written ? accepted : declined;
            Records.AssertSame(winner, (await store.FindAsync(record.ReferralId, Ct))!.Value);
        }
    }

    [Fact]
    public async Task Deleting_removes_the_record_and_its_indexes_and_leaves_only_a_report_counter()
    {
        var (store, table, _) = NewStore();
        var record = Records.Accepted();
        await store.TryCreateAsync(record, Ct);
        var loaded = (await store.FindAsync(record.ReferralId, Ct))!;

        Assert.Equal(WriteOutcome.Written, await store.TryDeleteAsync(record.ReferralId, loaded.Version, Ct));

        Assert.Null(await store.FindAsync(record.ReferralId, Ct));
        Assert.Null(await store.FindClientByTokenHashAsync(record.TokenHash, Ct));
        var left = Assert.Single(await (await table.ClientAsync(Ct)).QueryAsync<TableEntity>(cancellationToken: Ct).ToListAsync(Ct));
        Assert.StartsWith(TableKeys.ReportCounterPartitionPrefix, left.PartitionKey, StringComparison.Ordinal);
        Assert.Equal(WriteOutcome.NotFound, await store.TryDeleteAsync(record.ReferralId, loaded.Version, Ct));
    }

    [Fact]
    public async Task Deleting_with_a_stale_version_is_a_conflict_and_keeps_everything()
    {
        var (store, _, _) = NewStore();
        var record = Records.Submitted();
        await store.TryCreateAsync(record, Ct);
        var stale = (await store.FindAsync(record.ReferralId, Ct))!;
        var delivered = Transitions.Apply(stale.Value, ReferralEvent.Deliver, Records.Now.AddMinutes(1), new RetentionPolicy())!;
        await store.TryReplaceAsync(delivered, stale.Version, Ct);

        Assert.Equal(WriteOutcome.Conflict, await store.TryDeleteAsync(record.ReferralId, stale.Version, Ct));

        Assert.NotNull(await store.FindAsync(record.ReferralId, Ct));
        Assert.NotNull(await store.FindClientByTokenHashAsync(record.TokenHash, Ct));
    }

    [Fact]
    public async Task FindDue_returns_records_to_expire_destroy_or_purge_and_no_others()
    {
        var (store, _, _) = NewStore();
        var now = Records.Now.AddDays(100);

        var toExpire = Records.Submitted(now: now.AddDays(-31));                       // consent ran out a day ago
        var toPurge = Records.Declined(now: now.AddDays(-40));                          // closed 40 days ago
        var acceptedLongAgo = Records.Accepted(now: now.AddDays(-20));                  // sealed kept 14 days after acceptance
        var fresh = Records.Submitted(now: now.AddDays(-1));
        var acceptedRecently = Records.Accepted(now: now.AddDays(-2));
        // Consent has run out, but an accepted referral does not expire, and its sealed part is already gone.
        var acceptedPastConsent = Records.Accepted(now: now.AddDays(-35)) with { Sealed = null, SealedDeleteAt = null };
        ReferralRecord[] all = [toExpire, toPurge, acceptedLongAgo, fresh, acceptedRecently, acceptedPastConsent];
        foreach (var record in all)
        {
            Assert.True(await store.TryCreateAsync(record, Ct));
        }

        var due = await store.FindDueAsync(now, Ct).ToListAsync(Ct);

        Assert.Equal(
            new[] { toExpire.ReferralId, toPurge.ReferralId, acceptedLongAgo.ReferralId }.Order(),
            due.Select(d => d.Value.ReferralId).Order());
        Assert.All(due, d => Assert.NotEqual(SweepAction.None, Transitions.DueAction(d.Value, now)));
        Assert.Equal(SweepAction.Expire, Transitions.DueAction(due.Single(d => d.Value.ReferralId == toExpire.ReferralId).Value, now));
        Assert.Equal(SweepAction.DestroySealed, Transitions.DueAction(due.Single(d => d.Value.ReferralId == acceptedLongAgo.ReferralId).Value, now));
    }

    [Fact]
    public async Task FindNotificationsDue_returns_records_whose_next_attempt_has_come_and_keeps_their_delivery_state()
    {
        var (store, _, _) = NewStore();
        var now = Records.Now.AddDays(1);
        var accepted = Records.Accepted();
        var retrying = accepted with
        {
            Notifications = [.. accepted.Notifications.Select(n => n with { EmailSent = true, Attempts = 3, NextAttemptAt = now.AddMinutes(-1) })],
        };
        var later = Records.Accepted() with
        {
            Notifications = [ClosedLoop.For("ref_later", ReferralStatus.Accepted, now) with { Attempts = 1, NextAttemptAt = now.AddMinutes(5) }],
        };
        var none = Records.Accepted() with { Notifications = [] };
        foreach (var record in new[] { retrying, later, none })
        {
            Assert.True(await store.TryCreateAsync(record, Ct));
        }

        var due = await store.FindNotificationsDueAsync(now, Ct).ToListAsync(Ct);

        var found = Assert.Single(due);
        Records.AssertSame(retrying, found.Value);
        Assert.All(found.Value.Notifications, n => Assert.True(n.EmailSent));
        Assert.Equal(WriteOutcome.Written, await store.TryReplaceAsync(found.Value with { Notifications = [] }, found.Version, Ct));
        Assert.Empty(await store.FindNotificationsDueAsync(now, Ct).ToListAsync(Ct));
        Assert.Equal([later.ReferralId], (await store.FindNotificationsDueAsync(now.AddMinutes(5), Ct).ToListAsync(Ct)).Select(d => d.Value.ReferralId));
    }

    [Fact]
    public async Task An_organisations_list_pages_newest_first_reads_status_from_the_record_and_holds_no_one_elses()
    {
        var (store, table, _) = NewStore();
        var ours = new List<ReferralRecord>();
        for (var i = 0; i < 7; i++)
        {
            var record = i == 2 ? Records.Accepted(now: Records.Now.AddHours(i)) : Records.Submitted(now: Records.Now.AddHours(i));
            ours.Add(record with { Category = i % 2 == 0 ? ServiceCategory.Health : ServiceCategory.Legal });
            Assert.True(await store.TryCreateAsync(ours[^1], Ct));
        }

        var theirs = Records.Submitted(now: Records.Now.AddHours(3)) with { OrganisationId = "org-other" };
        Assert.True(await store.TryCreateAsync(theirs, Ct));

        var seen = new List<string>();
        ReferralCursor? after = null;
        do
        {
            var page = await store.ListAsync(new ReferralQuery("org-casa", Limit: 3, After: after), Ct);
            Assert.True(page.Items.Count <= 3);
            seen.AddRange(page.Items.Select(r => r.ReferralId));
            after = page.Next;
        }
        while (after is not null);

        Assert.Equal(Enumerable.Reverse(ours).Select(r => r.ReferralId), seen);
        Assert.Equal([theirs.ReferralId], (await store.ListAsync(new ReferralQuery("org-other"), Ct)).Items.Select(r => r.ReferralId));
        Assert.Equal([ours[2].ReferralId], (await store.ListAsync(new ReferralQuery("org-casa", ReferralStatus.Accepted), Ct)).Items.Select(r => r.ReferralId));
        Assert.Equal([ours[5].ReferralId, ours[3].ReferralId, ours[1].ReferralId],
            (await store.ListAsync(new ReferralQuery("org-casa", Category: ServiceCategory.Legal), Ct)).Items.Select(r => r.ReferralId));
        Assert.Equal([ours[4].ReferralId, ours[3].ReferralId],
            (await store.ListAsync(new ReferralQuery("org-casa", CreatedFrom: ReferralCursor.ToMillisecond(ours[3].CreatedAt),
                CreatedBefore: ReferralCursor.ToMillisecond(ours[5].CreatedAt)), Ct)).Items.Select(r => r.ReferralId));

        // A status changed after indexing is read from the record, not from the index.
        var current = (await store.FindAsync(ours[0].ReferralId, Ct))!;
        var withdrawn = Transitions.Apply(current.Value, ReferralEvent.Withdraw, Records.Now.AddDays(1), new RetentionPolicy())!;
        Assert.Equal(WriteOutcome.Written, await store.TryReplaceAsync(withdrawn, current.Version, Ct));
        Assert.Equal([ours[0].ReferralId], (await store.ListAsync(new ReferralQuery("org-casa", ReferralStatus.Withdrawn), Ct)).Items.Select(r => r.ReferralId));

        // Purging a record takes its index row with it.
        current = (await store.FindAsync(ours[0].ReferralId, Ct))!;
        Assert.Equal(WriteOutcome.Written, await store.TryDeleteAsync(ours[0].ReferralId, current.Version, Ct));
        Assert.Null(await table.GetAsync(TableKeys.OrganisationIndex("org-casa", ours[0].CreatedAt, ours[0].ReferralId), Ct));
        Assert.Equal(6, (await store.ListAsync(new ReferralQuery("org-casa"), Ct)).Items.Count);
    }

    [Fact]
    public async Task A_duress_token_hash_is_told_apart_by_its_index_alone_and_its_index_goes_with_the_record()
    {
        var (store, table, _) = NewStore();
        var record = Records.Submitted() with { DuressTokenHash = Records.NewTokenHash() };
        Assert.True(await store.TryCreateAsync(record, Ct));

        Assert.Equal(new TokenMatch.Duress(record.ReferralId), await store.FindByTokenHashAsync(record.DuressTokenHash!, Ct));
        // Said by the index entry itself, so the lookup reads no record.
        var index = (await table.GetAsync(TableKeys.TokenIndex(record.DuressTokenHash!), Ct))!;
        Assert.Equal("duress", index.GetString(ReferralEntities.TokenKindProperty));
        Assert.Equal("client", (await table.GetAsync(TableKeys.TokenIndex(record.TokenHash), Ct))!.GetString(ReferralEntities.TokenKindProperty));
        var found = (await store.FindClientByTokenHashAsync(record.TokenHash, Ct))!;
        Records.AssertSame(record, found.Value);

        Assert.Equal(WriteOutcome.Written, await store.TryDeleteAsync(record.ReferralId, found.Version, Ct));
        Assert.Null(await table.GetAsync(TableKeys.TokenIndex(record.DuressTokenHash!), Ct));
        Assert.Null(await store.FindByTokenHashAsync(record.DuressTokenHash!, Ct));
    }

    [Fact]
    public async Task A_token_index_written_before_the_kind_marker_is_told_apart_by_its_record_until_the_sweep_adds_the_marker()
    {
        var (store, table, _) = NewStore();
        var record = Records.Submitted() with { DuressTokenHash = Records.NewTokenHash() };
        Assert.True(await store.TryCreateAsync(record, Ct));
        // Both entries as the previous version wrote them: the referral id, DueAt and WriteId, no kind; their check
        // due a day from now.
        foreach (var hash in new[] { record.TokenHash, record.DuressTokenHash! })
        {
            var old = (await table.GetAsync(TableKeys.TokenIndex(hash), Ct))!;
            Assert.True(old.Remove(ReferralEntities.TokenKindProperty));
            old[TableKeys.DueAtProperty] = Records.Now.AddDays(1);
            Assert.Equal(WriteOutcome.Written, await table.ReplaceAsync(old, old.ETag, Ct));
        }

        Assert.Equal(new TokenMatch.Duress(record.ReferralId), await store.FindByTokenHashAsync(record.DuressTokenHash!, Ct));
        Records.AssertSame(record, (await store.FindClientByTokenHashAsync(record.TokenHash, Ct))!.Value);
        Assert.Null(await store.FindByTokenHashAsync(Records.NewTokenHash(), Ct));

        // The sweep's check of an index entry rewrites it with its kind.
        Assert.Empty(await store.FindDueAsync(Records.Now.AddDays(2), Ct).ToListAsync(Ct));
        Assert.Equal("duress", (await table.GetAsync(TableKeys.TokenIndex(record.DuressTokenHash!), Ct))!.GetString(ReferralEntities.TokenKindProperty));
        Assert.Equal("client", (await table.GetAsync(TableKeys.TokenIndex(record.TokenHash), Ct))!.GetString(ReferralEntities.TokenKindProperty));
        Assert.Equal(new TokenMatch.Duress(record.ReferralId), await store.FindByTokenHashAsync(record.DuressTokenHash!, Ct));
    }

    [Fact]
    public async Task A_purged_record_is_counted_for_reports_without_its_id_and_reports_see_it_once()
    {
        var (store, table, options) = NewStore();
        var declined = Records.Declined();
        var accepted = Records.Accepted();
        Assert.True(await store.TryCreateAsync(declined, Ct));
        Assert.True(await store.TryCreateAsync(accepted, Ct));
        var month = ReportFact.MonthOf(Records.Now);
        var before = await store.FactsAsync(month, month.AddMonths(1), Ct).ToListAsync(Ct);

        Assert.Equal(WriteOutcome.Written, await store.TryDeleteAsync(declined.ReferralId, (await store.FindAsync(declined.ReferralId, Ct))!.Version, Ct));

        var after = await store.FactsAsync(month, month.AddMonths(1), Ct).ToListAsync(Ct);
        Assert.Equal(before.OrderBy(f => f.Outcome).Select(f => f with { Count = 1 }), after.OrderBy(f => f.Outcome));
        Assert.Empty(await store.FactsAsync(month.AddMonths(1), month.AddMonths(2), Ct).ToListAsync(Ct));
        var dump = (await azurite.DumpAllTablesAsync(Ct)).Where(e => e.Table == TableKeys.ReferralsTable(options.TablePrefix)).ToList();
        var counter = Assert.Single(dump, e => e.Json.Contains("\"report:", StringComparison.Ordinal));
        Assert.DoesNotContain(declined.ReferralId, counter.Json, StringComparison.Ordinal);
        Assert.DoesNotContain(declined.TokenHash, counter.Json, StringComparison.Ordinal);
        Assert.DoesNotContain(declined.PartnerId, counter.Json, StringComparison.Ordinal);

        // A second purge of the same kind adds to the same counter.
        var another = Records.Declined();
        Assert.True(await store.TryCreateAsync(another, Ct));
        Assert.Equal(WriteOutcome.Written, await store.TryDeleteAsync(another.ReferralId, (await store.FindAsync(another.ReferralId, Ct))!.Version, Ct));
        Assert.Equal(2, (await store.FactsAsync(month, month.AddMonths(1), Ct).ToListAsync(Ct)).Single(f => f.Outcome == ReportOutcome.Declined).Count);
    }

    [Fact]
    public async Task The_sweep_removes_an_organisation_index_row_whose_record_never_arrived()
    {
        var (store, table, _) = NewStore();
        var lost = Records.Submitted();
        await table.InsertAsync(TableEntities.New(TableKeys.OrganisationIndex(lost.OrganisationId, lost.CreatedAt, lost.ReferralId),
            [("ReferralId", lost.ReferralId), ("CreatedAt", lost.CreatedAt), ("Category", "legal"), (TableKeys.DueAtProperty, lost.PurgeAt)]), Ct);

        Assert.Empty((await store.ListAsync(new ReferralQuery(lost.OrganisationId), Ct)).Items);
        await store.FindDueAsync(lost.PurgeAt, Ct).ToListAsync(Ct);
        Assert.Null(await table.GetAsync(TableKeys.OrganisationIndex(lost.OrganisationId, lost.CreatedAt, lost.ReferralId), Ct));
    }

    [Fact]
    public async Task Versions_from_FindDue_are_good_for_the_sweep_to_write_and_delete_with()
    {
        var (store, _, _) = NewStore();
        var now = Records.Now.AddDays(100);
        var toPurge = Records.Declined(now: now.AddDays(-40));
        var toDestroy = Records.Accepted(now: now.AddDays(-20));
        await store.TryCreateAsync(toPurge, Ct);
        await store.TryCreateAsync(toDestroy, Ct);

        await foreach (var due in store.FindDueAsync(now, Ct))
        {
            var outcome = Transitions.DueAction(due.Value, now) switch
            {
                SweepAction.Purge => await store.TryDeleteAsync(due.Value.ReferralId, due.Version, Ct),
                SweepAction.DestroySealed => await store.TryReplaceAsync(due.Value with { Sealed = null, SealedDeleteAt = null }, due.Version, Ct),
                var other => throw new InvalidOperationException($"Unexpected {other}"),
            };
            Assert.Equal(WriteOutcome.Written, outcome);
        }

        Assert.Null(await store.FindAsync(toPurge.ReferralId, Ct));
        Assert.Null((await store.FindAsync(toDestroy.ReferralId, Ct))!.Value.Sealed);
        Assert.Empty(await store.FindDueAsync(now, Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task A_purge_of_the_version_the_due_scan_found_reads_the_record_no_more_and_still_removes_its_indexes()
    {
        var (store, counter) = NewCountedStore();
        var now = Records.Now.AddDays(100);
        var record = Records.Declined(now: now.AddDays(-40));
        await store.TryCreateAsync(record, Ct);
        var due = Assert.Single(await store.FindDueAsync(now, Ct).ToListAsync(Ct));

        var before = counter.Snapshot();
        Assert.Equal(WriteOutcome.Written, await store.TryDeleteAsync(record.ReferralId, due.Version, Ct));
        var used = counter.Snapshot().ToDictionary(c => c.Key, c => c.Value - before.GetValueOrDefault(c.Key), StringComparer.Ordinal);

        Assert.Equal(0, used.GetValueOrDefault("referrals.record.get"));
        Assert.Equal((1, 1, 1), (used["referrals.record.delete"], used["referrals.token.delete"], used["referrals.org.delete"]));
        Assert.Equal(0, used.GetValueOrDefault("referrals.org.query"));
        Assert.Null(await store.FindAsync(record.ReferralId, Ct));
        Assert.Null(await store.FindClientByTokenHashAsync(record.TokenHash, Ct));
        Assert.Equal(1, used["referrals.report.insert"]);
    }

    [Fact]
    public async Task A_record_changed_since_the_due_scan_is_not_purged_with_the_scans_version_and_keeps_its_indexes()
    {
        var (store, _) = NewCountedStore();
        var now = Records.Now.AddDays(100);
        var record = Records.Declined(now: now.AddDays(-40));
        await store.TryCreateAsync(record, Ct);
        var due = Assert.Single(await store.FindDueAsync(now, Ct).ToListAsync(Ct));
        Assert.Equal(WriteOutcome.Written, await store.TryReplaceAsync(due.Value, due.Version, Ct));

        Assert.Equal(WriteOutcome.Conflict, await store.TryDeleteAsync(record.ReferralId, due.Version, Ct));

        Assert.NotNull(await store.FindClientByTokenHashAsync(record.TokenHash, Ct));
        var current = (await store.FindAsync(record.ReferralId, Ct))!;
        Assert.Single((await store.ListAsync(new ReferralQuery(record.OrganisationId), Ct)).Items);
        // The version read since is deleted the way it always was: read, then delete, then the indexes.
        Assert.Equal(WriteOutcome.Written, await store.TryDeleteAsync(record.ReferralId, current.Version, Ct));
        Assert.Null(await store.FindClientByTokenHashAsync(record.TokenHash, Ct));
    }

    [Fact]
    public async Task FindDue_removes_a_token_index_whose_record_is_gone_and_keeps_live_ones()
    {
        var (store, table, _) = NewStore();
        var live = Records.Accepted();
        await store.TryCreateAsync(live, Ct);
        // What a crash between the two writes of a create leaves behind.
        var orphanHash = Records.NewTokenHash();
        await table.InsertAsync(ReferralEntities.ToTokenIndex(orphanHash, Records.NewReferralId(), Records.Now.AddDays(1)), Ct);
        // A live index whose check time has come although its record has moved its purge further out.
        var liveIndex = ReferralEntities.ToTokenIndex(live.TokenHash, live.ReferralId, Records.Now.AddDays(1));
        var current = await table.GetAsync(liveIndex.Key(), Ct);
        await table.ReplaceAsync(liveIndex, current!.ETag, Ct);

        Assert.Empty(await store.FindDueAsync(Records.Now.AddDays(2), Ct).ToListAsync(Ct));

        Assert.Null(await table.GetAsync(TableKeys.TokenIndex(orphanHash), Ct));
        var kept = await table.GetAsync(liveIndex.Key(), Ct);
        Assert.Equal(live.PurgeAt.UtcTicks, kept!.RequireDateTime(TableKeys.DueAtProperty).UtcTicks);
        Records.AssertSame(live, (await store.FindClientByTokenHashAsync(live.TokenHash, Ct))!.Value);
    }

    [Fact]
    public async Task A_ciphertext_too_long_for_one_property_is_stored_in_parts_and_read_back_whole()
    {
        var (store, _, _) = NewStore();
        var clientJson = "{\"needs\":\"" + new string('x', 75_000) + "\"}";
        var record = Records.Submitted(clientJson);
        Assert.True(record.Sealed!.Ciphertext.Length > 2 * ReferralEntities.CiphertextPartLength);

        Assert.True(await store.TryCreateAsync(record, Ct));

        var found = (await store.FindAsync(record.ReferralId, Ct))!.Value;
        Records.AssertSame(record, found);
    }

    [Fact]
    public async Task The_dump_shows_every_stored_entity_but_never_the_sealed_client_details()
    {
        var (store, _, options) = NewStore();
        const string marker = "MARKER-c1ient-7f3a";
        var record = Records.Submitted($$"""{"firstName":"{{marker}}"}""", out var linkSecret);
        await store.TryCreateAsync(record, Ct);

        var dump = await azurite.DumpAllTablesAsync(Ct);

        var ours = dump.Where(e => e.Table == TableKeys.ReferralsTable(options.TablePrefix)).ToList();
        Assert.Equal(3, ours.Count); // the record, its token index and its organisation index
        Assert.Contains(ours, e => e.Json.Contains(record.ReferralId, StringComparison.Ordinal));
        Assert.DoesNotContain(dump, e => e.Json.Contains(marker, StringComparison.Ordinal));
        // The sealed referral is there and opens with the link secret only the partner has.
        Assert.Equal(marker, System.Text.Json.JsonDocument.Parse(Encoding.UTF8.GetString(
            ReferralSeal.Open(record.ReferralId, record.Sealed!, linkSecret))).RootElement.GetProperty("firstName").GetString());
    }

    /// <summary>A store on tables of its own, and a second client on its referrals table to look behind it.</summary>
    private (TableReferralStore Store, TableOperationCounter Counter) NewCountedStore()
    {
        var counter = new TableOperationCounter();
        var clientOptions = new TableClientOptions();
        clientOptions.AddPolicy(counter, HttpPipelinePosition.PerRetry);
        return (new TableReferralStore(azurite.CreateOptions(), credential: null, clientOptions), counter);
    }

    private (TableReferralStore Store, EntityTable Table, TableStorageOptions Options) NewStore()
    {
        var options = azurite.CreateOptions();
        var table = EntityTable.Create(options, TableKeys.ReferralsTable(options.TablePrefix), credential: null, clientOptions: null);
        return (new TableReferralStore(options, credential: null), table, options);
    }

    /// <summary>
    /// Lets every other entity insert reach the service but answers 503 in its place, as when a response is lost
    /// on the way back; the pipeline then retries an insert that has in fact been done.
    /// </summary>
    private sealed class LoseEveryOtherInsertResponse : DelegatingHandler
    {
        private int _inserts;

        public LoseEveryOtherInsertResponse()
            : base(new HttpClientHandler())
        {
        }

        public int Lost { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            var isInsert = request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath.EndsWith("referrals", StringComparison.Ordinal);
            if (isInsert && Interlocked.Increment(ref _inserts) % 2 == 1 && response.IsSuccessStatusCode)
            {
                response.Dispose();
                Lost++;
                return new HttpResponseMessage(System.Net.HttpStatusCode.ServiceUnavailable);
            }

            return response;
        }
    }
}
