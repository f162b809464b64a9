using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using ReferralBroker.Azure.TableStorage;
using ReferralBroker.Ports;

namespace ReferralBroker.Azure.Tests.TableStorage;

/// <summary>The outcomes the stores decide on, as the SDK reports them from the emulator: absent, exists, stale, paging, errors.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class EntityTableTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task Requests_with_the_shared_key_are_accepted()
    {
        var table = await NewTableAsync();

        Assert.NotNull(await table.InsertAsync(TableEntities.New(new EntityKey("p", "r"), [("V", 1)]), Ct));
        Assert.Equal(1, (await table.GetAsync(new EntityKey("p", "r"), Ct))!.ReadInt32("V"));
    }

    [Fact]
    public async Task A_wrong_account_key_is_refused_with_403()
    {
        var wrongKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(64));
        var store = new TableReferralStore(azurite.CreateOptions(accountKey: wrongKey), credential: null);

        var failure = await Assert.ThrowsAsync<RequestFailedException>(() => store.FindAsync(Records.NewReferralId(), Ct));

        Assert.Equal(403, failure.Status);
    }

    [Fact]
    public async Task Keys_with_quotes_spaces_and_non_ascii_letters_round_trip()
    {
        var table = await NewTableAsync();
        var key = new EntityKey("o'brien's (1) = x,y", "zoë & 'q'");

        Assert.NotNull(await table.InsertAsync(TableEntities.New(key, [("S", "ok")]), Ct));

        var found = await table.GetAsync(key, Ct);
        Assert.NotNull(found);
        Assert.Equal(key, found.Key());
        Assert.Equal(WriteOutcome.Written, await table.DeleteAsync(key, found.ETag, Ct));
        Assert.Null(await table.GetAsync(key, Ct));
    }

    [Fact]
    public async Task Inserting_an_existing_entity_returns_null_and_changes_nothing()
    {
        var table = await NewTableAsync();
        var key = new EntityKey("p", "r");
        await table.InsertAsync(TableEntities.New(key, [("S", "first")]), Ct);

        Assert.Null(await table.InsertAsync(TableEntities.New(key, [("S", "second")]), Ct));

        Assert.Equal("first", (await table.GetAsync(key, Ct))!.ReadString("S"));
    }

    [Fact]
    public async Task A_stale_ETag_is_a_conflict_and_a_missing_entity_is_not_found_for_replace_and_delete()
    {
        var table = await NewTableAsync();
        var key = new EntityKey("p", "r");
        var first = (await table.InsertAsync(TableEntities.New(key, [("N", 1)]), Ct))!.Value;
        Assert.Equal(WriteOutcome.Written, await table.ReplaceAsync(TableEntities.New(key, [("N", 2)]), first, Ct));

        Assert.Equal(WriteOutcome.Conflict, await table.ReplaceAsync(TableEntities.New(key, [("N", 3)]), first, Ct));
        Assert.Equal(WriteOutcome.Conflict, await table.DeleteAsync(key, first, Ct));
        Assert.Equal(2, (await table.GetAsync(key, Ct))!.ReadInt32("N"));

        Assert.Equal(WriteOutcome.Written, await table.DeleteAsync(key, ETag.All, Ct));
        Assert.Equal(WriteOutcome.NotFound, await table.DeleteAsync(key, ETag.All, Ct));
        Assert.Equal(WriteOutcome.NotFound, await table.ReplaceAsync(TableEntities.New(key, [("N", 4)]), first, Ct));
    }

    [Fact]
    public async Task Queries_follow_continuations_across_pages()
    {
        var table = await NewTableAsync();
        for (var i = 0; i < 7; i++)
        {
            await table.InsertAsync(TableEntities.New(new EntityKey($"p{i}", "r"), [("N", i)]), Ct);
        }

        var all = await (await table.ClientAsync(Ct)).QueryAsync<TableEntity>("N ge 2", maxPerPage: 2, cancellationToken: Ct).ToListAsync(Ct);

        Assert.Equal([2, 3, 4, 5, 6], all.Select(e => e.ReadInt32("N")!.Value).Order());
        Assert.All(all, e => Assert.False(string.IsNullOrEmpty(e.ETag.ToString())));
    }

    [Fact]
    public async Task DateTime_properties_keep_their_100ns_precision()
    {
        var table = await NewTableAsync();
        var at = Records.Now;
        await table.InsertAsync(TableEntities.New(new EntityKey("p", "r"), [("At", at)]), Ct);

        Assert.Equal(at.UtcTicks, (await table.GetAsync(new EntityKey("p", "r"), Ct))!.ReadDateTime("At")!.Value.UtcTicks);
    }

    [Fact]
    public async Task DateTime_filters_select_values_on_or_before_the_given_time()
    {
        var table = await NewTableAsync();
        var at = Records.Now;
        // A millisecond apart: Azurite compares datetimes at millisecond precision (Azure at 100 ns), so the
        // adapter re-checks due times itself and only relies on the filter to narrow the scan.
        await table.InsertAsync(TableEntities.New(new EntityKey("early", "r"), [("At", at)]), Ct);
        await table.InsertAsync(TableEntities.New(new EntityKey("late", "r"), [("At", at.AddMilliseconds(1))]), Ct);

        var onOrBefore = await (await table.ClientAsync(Ct)).QueryAsync<TableEntity>(TableKeys.OnOrBefore("At", at), cancellationToken: Ct).ToListAsync(Ct);

        Assert.Equal("early", Assert.Single(onOrBefore).PartitionKey);
    }

    [Fact]
    public async Task Service_errors_other_than_expected_outcomes_surface_as_RequestFailedException_with_the_error_code()
    {
        var table = await NewTableAsync();

        var failure = await Assert.ThrowsAsync<RequestFailedException>(
            () => table.InsertAsync(TableEntities.New(new EntityKey("p", "r"), [("S", new string('x', 40_000))]), Ct));

        Assert.Equal(400, failure.Status);
        Assert.False(string.IsNullOrEmpty(failure.ErrorCode));
        // What was being stored never reaches the exception, and so never a log.
        Assert.DoesNotContain(new string('x', 64), failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_property_of_another_type_is_refused_naming_the_property_not_its_value()
    {
        var table = await NewTableAsync();
        await table.InsertAsync(TableEntities.New(new EntityKey("p", "r"), [("N", "secret-ish-value")]), Ct);
        var entity = (await table.GetAsync(new EntityKey("p", "r"), Ct))!;

        var failure = Assert.Throws<InvalidDataException>(() => entity.ReadInt32("N"));

        Assert.Contains("N", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-ish-value", failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_client_on_an_existing_table_creates_nothing_and_works()
    {
        var options = azurite.CreateOptions();
        var first = EntityTable.Create(options, options.TablePrefix + "raw", credential: null, clientOptions: null);
        await first.ClientAsync(Ct);
        await first.InsertAsync(TableEntities.New(new EntityKey("p", "r")), Ct);

        var second = EntityTable.Create(options, options.TablePrefix + "raw", credential: null, clientOptions: null);
        await second.ClientAsync(Ct);

        Assert.NotNull(await second.GetAsync(new EntityKey("p", "r"), Ct));
    }

    [Fact]
    public async Task The_table_is_created_once_however_many_calls_need_it()
    {
        var options = azurite.CreateOptions();
        var creates = new CountingPolicy(m => m.Request.Uri.Path.EndsWith("/Tables", StringComparison.Ordinal));
        var clientOptions = new TableClientOptions();
        clientOptions.AddPolicy(creates, HttpPipelinePosition.PerCall);
        var store = new TableIdempotencyStore(options, credential: null, clientOptions);

        await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => store.PurgeExpiredAsync(Records.Now, Ct)));
        await store.PurgeExpiredAsync(Records.Now, Ct);

        Assert.Equal(1, creates.Count);
    }

    private async Task<EntityTable> NewTableAsync()
    {
        var options = azurite.CreateOptions();
        var table = EntityTable.Create(options, options.TablePrefix + "raw", credential: null, clientOptions: null);
        await table.ClientAsync(Ct);
        return table;
    }

    private sealed class CountingPolicy(Func<HttpMessage, bool> counts) : HttpPipelineSynchronousPolicy
    {
        private int _count;

        public int Count => _count;

        public override void OnSendingRequest(HttpMessage message)
        {
            if (counts(message))
            {
                Interlocked.Increment(ref _count);
            }
        }
    }
}
