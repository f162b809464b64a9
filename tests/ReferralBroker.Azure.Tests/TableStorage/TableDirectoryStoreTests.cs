using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using ReferralBroker.Azure.TableStorage;
using ReferralBroker.Lifecycle;
using ReferralBroker.Referrals;

namespace ReferralBroker.Azure.Tests.TableStorage;

[Collection(AzuriteCollection.Name)]
public sealed class TableDirectoryStoreTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => CancellationToken.None;

    private static readonly ServiceCategory Housing = WireNames.TryParse("housing", out ServiceCategory housing) ? housing : default;

    private static Partner RichPartner(string id) => new(id, "Clinic", $"intake@{id}.example", [ServiceCategory.Health, Housing], ["en", "pt-BR"])
    {
        Provider = new PartnerProvider($"{id}-org", "Provider"),
        Description = "Walk-in; a woman doctor on Tuesdays",
        ServiceAreas = ["Bangkok", "Pattaya, Chonburi"],
        Hours = "Mon-Fri 10:00-18:00",
        Accessibility = "Step-free",
        Attributes = [SafetyAttributes.NoIdRequired, SafetyAttributes.SexWorkerLed],
        PublicEmail = $"hello@{id}.example",
        HsdsIds = new Dictionary<string, Guid> { [PartnerIds.Service] = Guid.NewGuid(), [PartnerIds.Language("en")] = Guid.NewGuid() },
        Pause = new PartnerPause(PauseCause.Flags, Records.Now),
    };

    private static OrganisationAccount Account(string id, string? keyHash) => new(
        new Organisation(id, $"Org {id}", new OrganisationNotifications("staff@org.example", new Uri("https://hooks.org.example/x"), "whsec-0123456789abcdef")),
        keyHash, keyHash is null ? null : Records.Now);

    [Fact]
    public async Task An_empty_store_loads_as_an_empty_directory()
    {
        var contents = await new TableDirectoryStore(azurite.CreateOptions(), credential: null).LoadAsync(Ct);
        Assert.Empty(contents.Organisations);
        Assert.Empty(contents.Partners);
    }

    [Fact]
    public async Task Organisations_and_partners_come_back_as_saved_and_a_save_replaces_by_id()
    {
        var store = new TableDirectoryStore(azurite.CreateOptions(), credential: null);
        var partner = RichPartner("clinic-a");
        await store.SavePartnerAsync(partner, Ct);
        await store.SavePartnerAsync(RichPartner("clinic-b") with { Name = "First name" }, Ct);
        await store.SavePartnerAsync(RichPartner("clinic-b") with { Name = "Second name", Pause = null }, Ct);
        await store.SaveOrganisationAsync(Account("org-a", null), Ct);
        await store.SaveOrganisationAsync(Account("org-a", ApiKeys.Hash("k1")), Ct);

        var contents = await store.LoadAsync(Ct);

        var loaded = contents.Partners.Single(p => p.Id == "clinic-a");
        Assert.Equal(partner.Categories, loaded.Categories);
        Assert.Equal(partner.Languages, loaded.Languages);
        Assert.Equal(partner.ServiceAreas, loaded.ServiceAreas);
        Assert.Equal(partner.Attributes, loaded.Attributes);
        Assert.Equal(partner.HsdsIds, loaded.HsdsIds);
        Assert.Equal(partner with
        {
            Categories = loaded.Categories, Languages = loaded.Languages, ServiceAreas = loaded.ServiceAreas, Attributes = loaded.Attributes,
            HsdsIds = loaded.HsdsIds,
        }, loaded);
        var replaced = contents.Partners.Single(p => p.Id == "clinic-b");
        Assert.Equal("Second name", replaced.Name);
        Assert.False(replaced.Paused);
        var account = Assert.Single(contents.Organisations);
        Assert.Equal(Account("org-a", ApiKeys.Hash("k1")), account);
    }

    [Fact]
    public async Task A_deactivated_organisation_and_a_revoked_key_stay_so_for_another_instance_reading_the_table()
    {
        var options = azurite.CreateOptions();
        var store = new TableDirectoryStore(options, credential: null);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Records.Now);
        var administration = new NetworkAdministration(store, new StoredNetworkDirectory(store), new FlagPolicy(2), time);
        await administration.SeedAsync(new DirectoryContents([Account("org-a", ApiKeys.Hash("k1")), Account("org-b", ApiKeys.Hash("k2"))], []), Ct);

        Assert.False((await administration.SetActiveAsync("org-a", false, Ct))!.Active);
        Assert.Null((await administration.RevokeKeyAsync("org-b", Ct))!.ApiKeySha256);
        Assert.IsType<KeyIssue.Deactivated>(await administration.IssueKeyAsync("org-a", Ct));

        // Another instance over the same table: it sees both changes, and a seed from configuration undoes neither.
        var other = new TableDirectoryStore(options, credential: null);
        var directory = new StoredNetworkDirectory(other);
        var added = await new NetworkAdministration(other, directory, new FlagPolicy(2), time)
            .SeedAsync(new DirectoryContents([Account("org-a", ApiKeys.Hash("k1")), Account("org-b", ApiKeys.Hash("k2"))], []), Ct);
        Assert.Empty(added);
        var loaded = (await other.LoadAsync(Ct)).Organisations.ToDictionary(o => o.Organisation.Id);
        Assert.Equal(Records.Now, loaded["org-a"].DeactivatedAt);
        Assert.Equal(ApiKeys.Hash("k1"), loaded["org-a"].ApiKeySha256);
        Assert.Null(loaded["org-b"].ApiKeySha256);
        Assert.Null(directory.FindOrganisationByKeyHash(ApiKeys.Hash("k1")));
        Assert.Null(directory.FindOrganisationByKeyHash(ApiKeys.Hash("k2")));
        Assert.NotNull(directory.FindOrganisation("org-a"));

        await administration.SetActiveAsync("org-a", true, Ct);
        await directory.RefreshAsync(Ct);
        Assert.Equal("org-a", directory.FindOrganisationByKeyHash(ApiKeys.Hash("k1"))?.Id);
    }

    [Fact]
    public async Task One_flag_per_organisation_and_partner_and_clearing_removes_only_that_partners_flags()
    {
        var store = new TableDirectoryStore(azurite.CreateOptions(), credential: null);
        await store.AddFlagAsync(new PartnerFlag("clinic-a", "org-1", "exposed-client-identity", Records.Now), Ct);
        await store.AddFlagAsync(new PartnerFlag("clinic-a", "org-1", "demanded-identity-documents", Records.Now.AddHours(1)), Ct);
        await store.AddFlagAsync(new PartnerFlag("clinic-a", "org-2", "exposed-client-identity", Records.Now), Ct);
        await store.AddFlagAsync(new PartnerFlag("clinic-b", "org-1", "exposed-client-identity", Records.Now), Ct);

        var flags = await store.FlagsAsync("clinic-a", Ct);
        Assert.Equal(
            [new PartnerFlag("clinic-a", "org-1", "demanded-identity-documents", Records.Now.AddHours(1)), new PartnerFlag("clinic-a", "org-2", "exposed-client-identity", Records.Now)],
            flags.OrderBy(f => f.OrganisationId));

        await store.ClearFlagsAsync("clinic-a", Ct);
        Assert.Empty(await store.FlagsAsync("clinic-a", Ct));
        Assert.Single(await store.FlagsAsync("clinic-b", Ct));
    }

    [Fact]
    public async Task All_flags_come_from_every_partners_flag_partition_and_nothing_else()
    {
        var store = new TableDirectoryStore(azurite.CreateOptions(), credential: null);
        Assert.Empty(await store.AllFlagsAsync(Ct));
        // Partners and organisations whose ids sort around "flag." must not be read as flags.
        await store.SavePartnerAsync(RichPartner("flag"), Ct);
        await store.SaveOrganisationAsync(Account("flag-org", null), Ct);
        await store.AddFlagAsync(new PartnerFlag("clinic-a", "org-1", "exposed-client-identity", Records.Now), Ct);
        await store.AddFlagAsync(new PartnerFlag("clinic-a", "org-2", "demanded-identity-documents", Records.Now.AddHours(1)), Ct);
        await store.AddFlagAsync(new PartnerFlag("z-clinic", "org-1", "contacted-police-or-immigration", Records.Now.AddHours(2)), Ct);

        Assert.Equal(
            [
                new PartnerFlag("clinic-a", "org-1", "exposed-client-identity", Records.Now),
                new PartnerFlag("clinic-a", "org-2", "demanded-identity-documents", Records.Now.AddHours(1)),
                new PartnerFlag("z-clinic", "org-1", "contacted-police-or-immigration", Records.Now.AddHours(2)),
            ],
            (await store.AllFlagsAsync(Ct)).OrderBy(f => f.PartnerId, StringComparer.Ordinal).ThenBy(f => f.OrganisationId, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Deleting_a_partner_removes_its_record_and_flags_only_and_remembers_the_removal_for_the_next_seed()
    {
        var options = azurite.CreateOptions();
        var store = new TableDirectoryStore(options, credential: null);
        await store.SavePartnerAsync(RichPartner("clinic-a"), Ct);
        await store.SavePartnerAsync(RichPartner("clinic-b"), Ct);
        await store.AddFlagAsync(new PartnerFlag("clinic-a", "org-1", "exposed-client-identity", Records.Now), Ct);
        await store.AddFlagAsync(new PartnerFlag("clinic-b", "org-1", "exposed-client-identity", Records.Now), Ct);

        await store.DeletePartnerAsync("clinic-a", Ct);
        await store.DeletePartnerAsync("clinic-a", Ct); // a repeat changes nothing
        await store.DeletePartnerAsync("never-there", Ct);

        var contents = await store.LoadAsync(Ct);
        Assert.Equal(["clinic-b"], contents.Partners.Select(p => p.Id));
        Assert.Empty(await store.FlagsAsync("clinic-a", Ct));
        Assert.Equal(["clinic-b"], (await store.AllFlagsAsync(Ct)).Select(f => f.PartnerId));
        Assert.Equal(["clinic-a", "never-there"], contents.RemovedPartnerIds.Order(StringComparer.Ordinal));

        // Another instance starting with the partner in its configuration does not bring it back.
        var other = new TableDirectoryStore(options, credential: null);
        var directory = new StoredNetworkDirectory(other);
        await new NetworkAdministration(other, directory, new FlagPolicy(2), new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Records.Now))
            .SeedAsync(new DirectoryContents([], [RichPartner("clinic-a"), RichPartner("clinic-c")]), Ct);
        Assert.Equal(["clinic-b", "clinic-c"], directory.Partners.Select(p => p.Id));
    }

    [Fact]
    public async Task Clearing_more_flags_than_one_transaction_holds_removes_them_all()
    {
        var store = new TableDirectoryStore(azurite.CreateOptions(), credential: null);
        for (var i = 0; i < 130; i++)
        {
            await store.AddFlagAsync(new PartnerFlag("clinic-a", $"org-{i}", "exposed-client-identity", Records.Now), Ct);
        }

        await store.AddFlagAsync(new PartnerFlag("clinic-b", "org-1", "exposed-client-identity", Records.Now), Ct);

        await store.ClearFlagsAsync("clinic-a", Ct);

        Assert.Empty(await store.FlagsAsync("clinic-a", Ct));
        Assert.Single(await store.FlagsAsync("clinic-b", Ct));
    }

    [Fact]
    public async Task A_flag_removed_by_another_clear_while_the_transaction_is_on_its_way_fails_it_and_the_clear_reads_again()
    {
        var options = azurite.CreateOptions();
        var rival = EntityTable.Create(options, TableKeys.DirectoryTable(options.TablePrefix), credential: null, clientOptions: null);
        var seeding = new TableDirectoryStore(options, credential: null);
        for (var i = 0; i < 20; i++)
        {
            await seeding.AddFlagAsync(new PartnerFlag("clinic-a", $"org-{i}", "exposed-client-identity", Records.Now), Ct);
        }

        // Another clear deletes one flag between our read of the flags and the arrival of our batch.
        var interference = new BeforeFirstBatch(() => rival.DeleteAsync(TableKeys.Flag("clinic-a", "org-7"), ETag.All, Ct));
        var clientOptions = new TableClientOptions();
        clientOptions.AddPolicy(interference, HttpPipelinePosition.PerCall);
        var store = new TableDirectoryStore(options, credential: null, clientOptions);

        await store.ClearFlagsAsync("clinic-a", Ct);

        Assert.Equal(2, interference.Batches); // the one that failed whole, then the 19 flags read again
        Assert.Empty(await store.FlagsAsync("clinic-a", Ct));
    }

    [Fact]
    public async Task The_directory_lives_in_the_directory_table_and_flags_hold_only_ids_a_reason_and_a_date()
    {
        var options = azurite.CreateOptions();
        var store = new TableDirectoryStore(options, credential: null);
        await store.AddFlagAsync(new PartnerFlag("clinic-a", "org-1", "exposed-client-identity", Records.Now), Ct);

        var stored = (await azurite.DumpAllTablesAsync(Ct)).Where(e => e.Table.StartsWith(options.TablePrefix, StringComparison.Ordinal)).ToList();
        var flag = Assert.Single(stored);
        Assert.Equal(options.TablePrefix + "directory", flag.Table);
        var properties = System.Text.Json.JsonDocument.Parse(flag.Json).RootElement.EnumerateObject()
            .Select(p => p.Name).Where(n => !n.StartsWith("odata.", StringComparison.Ordinal) && !n.EndsWith("@odata.type", StringComparison.Ordinal));
        Assert.Equal(["FlaggedAt", "PartitionKey", "Reason", "RowKey", "Timestamp"], properties.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Staff_keys_come_back_as_saved_with_their_last_use_and_a_deleted_one_is_gone()
    {
        var store = new TableDirectoryStore(azurite.CreateOptions(), credential: null);
        var mai = new StaffCredential("stf_mai", "Mai", StaffRole.Caseworker, "org-a", ApiKeys.Hash("rbs_mai"), Records.Now);
        var asha = new StaffCredential("stf_asha", "Asha", StaffRole.Coordinator, null, ApiKeys.Hash("rbs_asha"), Records.Now.AddMinutes(1));
        await store.SaveStaffAsync(mai, Ct);
        await store.SaveStaffAsync(asha, Ct);

        var day = StaffKeys.Day(Records.Now);
        await store.RecordStaffUseAsync("stf_mai", day, Ct);
        await store.RecordStaffUseAsync("stf_mai", day, Ct);

        var loaded = (await store.LoadAsync(Ct)).Staff.ToDictionary(s => s.Id);
        Assert.Equal(mai with { LastUsedAt = day }, loaded["stf_mai"]);
        Assert.Equal(asha, loaded["stf_asha"]);

        await store.DeleteStaffAsync("stf_mai", Ct);
        await store.DeleteStaffAsync("stf_mai", Ct);
        Assert.Equal(["stf_asha"], (await store.LoadAsync(Ct)).Staff.Select(s => s.Id));
    }

    [Fact]
    public async Task A_use_recorded_after_a_revocation_does_not_bring_the_staff_key_back()
    {
        var store = new TableDirectoryStore(azurite.CreateOptions(), credential: null);
        await store.SaveStaffAsync(new StaffCredential("stf_mai", "Mai", StaffRole.Caseworker, "org-a", ApiKeys.Hash("rbs_mai"), Records.Now), Ct);
        await store.DeleteStaffAsync("stf_mai", Ct);

        await store.RecordStaffUseAsync("stf_mai", StaffKeys.Day(Records.Now), Ct);

        Assert.Empty((await store.LoadAsync(Ct)).Staff);
    }

    [Fact]
    public async Task Staff_keys_issued_through_one_instance_open_and_revoked_close_another_and_only_hashes_are_stored()
    {
        var options = azurite.CreateOptions();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Records.Now);
        var store = new TableDirectoryStore(options, credential: null);
        var staff = new StaffAdministration(store, new StoredNetworkDirectory(store), time);
        await new NetworkAdministration(store, new StoredNetworkDirectory(store), new FlagPolicy(2), time)
            .SeedAsync(new DirectoryContents([Account("org-a", null), Account("org-b", null)], []), Ct);

        var mai = Assert.IsType<StaffIssue.Issued>(await staff.IssueAsync("Mai", StaffRole.Caseworker, "org-a", Ct));
        var asha = Assert.IsType<StaffIssue.Issued>(await staff.IssueAsync("Asha", StaffRole.Coordinator, null, Ct));
        Assert.IsType<StaffIssue.UnknownOrganisation>(await staff.IssueAsync("Lek", StaffRole.Caseworker, "nobody", Ct));

        var other = new TableDirectoryStore(options, credential: null);
        var directory = new StoredNetworkDirectory(other);
        await directory.RefreshAsync(Ct);
        Assert.Equal("org-a", directory.FindStaffByKeyHash(ApiKeys.Hash(mai.Key))?.Organisation?.Id);
        Assert.Null(directory.FindStaffByKeyHash(ApiKeys.Hash(asha.Key))?.Organisation);
        Assert.Equal(StaffRole.Coordinator, directory.FindStaffByKeyHash(ApiKeys.Hash(asha.Key))?.Credential.Role);
        Assert.Equal([asha.Credential.Id, mai.Credential.Id], (await new StaffAdministration(other, directory, time).ListAsync(null, Ct)).Select(s => s.Id));
        Assert.Equal([mai.Credential.Id], (await staff.ListAsync("org-a", Ct)).Select(s => s.Id));
        Assert.Empty(await staff.ListAsync("org-b", Ct));

        // An organisation revokes only its own caseworkers' keys.
        Assert.False(await staff.RevokeAsync(mai.Credential.Id, "org-b", Ct));
        Assert.False(await staff.RevokeAsync(asha.Credential.Id, "org-a", Ct));
        Assert.True(await staff.RevokeAsync(mai.Credential.Id, "org-a", Ct));
        await directory.RefreshAsync(Ct);
        Assert.Null(directory.FindStaffByKeyHash(ApiKeys.Hash(mai.Key)));
        Assert.NotNull(directory.FindStaffByKeyHash(ApiKeys.Hash(asha.Key)));

        var stored = string.Join("\n", (await azurite.DumpAllTablesAsync(Ct)).Where(e => e.Table.StartsWith(options.TablePrefix, StringComparison.Ordinal)).Select(e => e.Json));
        Assert.DoesNotContain(mai.Key, stored, StringComparison.Ordinal);
        Assert.DoesNotContain(asha.Key, stored, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiKeys.Hash(mai.Key), stored, StringComparison.Ordinal);
        Assert.Contains(ApiKeys.Hash(asha.Key), stored, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deactivated_organisations_caseworker_keys_are_found_by_no_instance()
    {
        var options = azurite.CreateOptions();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Records.Now);
        var store = new TableDirectoryStore(options, credential: null);
        var administration = new NetworkAdministration(store, new StoredNetworkDirectory(store), new FlagPolicy(2), time);
        await administration.SeedAsync(new DirectoryContents([Account("org-a", null)], []), Ct);
        var mai = Assert.IsType<StaffIssue.Issued>(await new StaffAdministration(store, new StoredNetworkDirectory(store), time).IssueAsync("Mai", StaffRole.Caseworker, "org-a", Ct));

        await administration.SetActiveAsync("org-a", false, Ct);
        var directory = new StoredNetworkDirectory(new TableDirectoryStore(options, credential: null));
        await directory.RefreshAsync(Ct);
        Assert.Null(directory.FindStaffByKeyHash(ApiKeys.Hash(mai.Key)));
        Assert.IsType<StaffIssue.Deactivated>(await new StaffAdministration(store, directory, time).IssueAsync("Lek", StaffRole.Caseworker, "org-a", Ct));

        await administration.SetActiveAsync("org-a", true, Ct);
        await directory.RefreshAsync(Ct);
        Assert.Equal(mai.Credential.Id, directory.FindStaffByKeyHash(ApiKeys.Hash(mai.Key))?.Credential.Id);
    }

    [Fact]
    public async Task An_organisations_partner_contact_setting_comes_back_as_saved()
    {
        var store = new TableDirectoryStore(azurite.CreateOptions(), credential: null);
        var account = Account("org-a", null);
        account = account with { Organisation = account.Organisation with { PartnerContact = new PartnerContact(false, "Call our drop-in, +66 2 123 4567") } };
        await store.SaveOrganisationAsync(account, Ct);
        await store.SaveOrganisationAsync(Account("org-b", null), Ct);

        var loaded = (await store.LoadAsync(Ct)).Organisations.ToDictionary(o => o.Organisation.Id);
        Assert.Equal(new PartnerContact(false, "Call our drop-in, +66 2 123 4567"), loaded["org-a"].Organisation.PartnerContact);
        Assert.Equal(PartnerContact.Default, loaded["org-b"].Organisation.PartnerContact);
    }

    private sealed class BeforeFirstBatch(Func<Task<ReferralBroker.Ports.WriteOutcome>> interfere) : HttpPipelinePolicy
    {
        private int _batches;

        public int Batches => _batches;

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (message.Request.Uri.Path.EndsWith("$batch", StringComparison.Ordinal) && Interlocked.Increment(ref _batches) == 1)
            {
                await interfere();
            }

            await ProcessNextAsync(message, pipeline);
        }
    }

    [Fact]
    public async Task A_partner_stored_without_HSDS_ids_gets_them_once_and_keeps_them_across_restarts_and_edits()
    {
        var options = azurite.CreateOptions();
        var store = new TableDirectoryStore(options, credential: null);
        var old = RichPartner("clinic-old") with { HsdsIds = PartnerIds.None, Pause = null };
        await store.SavePartnerAsync(old, Ct);
        await store.SavePartnerAsync(RichPartner("clinic-sibling") with { HsdsIds = PartnerIds.None, Provider = old.Provider, Pause = null }, Ct);

        async Task<IReadOnlyList<Partner>> StartAsync()
        {
            var restarted = new TableDirectoryStore(options, credential: null);
            var administration = new NetworkAdministration(restarted, new StoredNetworkDirectory(restarted), new FlagPolicy(2), TimeProvider.System);
            await administration.SeedAsync(new DirectoryContents([], []), Ct);
            return (await restarted.LoadAsync(Ct)).Partners;
        }

        var first = (await StartAsync()).Single(p => p.Id == "clinic-old");
        Assert.True(PartnerIds.Complete(first));
        Assert.Equal(PartnerIds.Keys(first).Order(), first.HsdsIds.Keys.Order());
        var again = await StartAsync();
        Assert.Equal(first.HsdsIds, again.Single(p => p.Id == "clinic-old").HsdsIds);
        // Two services of one provider are one organization.
        Assert.Equal(first.HsdsIds[PartnerIds.Organization], again.Single(p => p.Id == "clinic-sibling").HsdsIds[PartnerIds.Organization]);

        // An edit keeps the ids of the items that stay and mints one for the item that is new.
        var restartedStore = new TableDirectoryStore(options, credential: null);
        var admin = new NetworkAdministration(restartedStore, new StoredNetworkDirectory(restartedStore), new FlagPolicy(2), TimeProvider.System);
        var (edited, _) = await admin.SavePartnerAsync(old with { Name = "Renamed", Languages = ["en", "th"] }, Ct);
        Assert.Equal(first.HsdsIds[PartnerIds.Service], edited.HsdsIds[PartnerIds.Service]);
        Assert.Equal(first.HsdsIds[PartnerIds.Language("en")], edited.HsdsIds[PartnerIds.Language("en")]);
        Assert.DoesNotContain(edited.HsdsIds[PartnerIds.Language("th")], first.HsdsIds.Values);
        Assert.Equal(edited.HsdsIds, (await restartedStore.LoadAsync(Ct)).Partners.Single(p => p.Id == "clinic-old").HsdsIds);
    }
}
