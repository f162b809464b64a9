using Azure;
using ReferralBroker.Azure.TableStorage;
using ReferralBroker.Ports;

namespace ReferralBroker.Azure.Tests.TableStorage;

/// <summary>The wire protocol itself against the emulator: signing, escaping, paging, errors.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TableClientTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task SharedKey_signed_requests_are_accepted()
    {
        var table = await NewTableAsync();

        Assert.NotNull(await table.InsertAsync(new TableEntity(new EntityKey("p", "r")).Set("V", 1), Ct));
        Assert.Equal(1, (await table.GetAsync(new EntityKey("p", "r"), Ct))!.GetInt32("V"));
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

        Assert.NotNull(await table.InsertAsync(new TableEntity(key).Set("S", "ok"), Ct));

        var found = await table.GetAsync(key, Ct);
        Assert.Equal(key, found!.Key);
        Assert.Equal(WriteOutcome.Written, await table.DeleteAsync(key, found.ETag!, Ct));
    }

    [Fact]
    public async Task Inserting_an_existing_entity_returns_null_and_changes_nothing()
    {
        var table = await NewTableAsync();
        var key = new EntityKey("p", "r");
        await table.InsertAsync(new TableEntity(key).Set("S", "first"), Ct);

        Assert.Null(await table.InsertAsync(new TableEntity(key).Set("S", "second"), Ct));

        Assert.Equal("first", (await table.GetAsync(key, Ct))!.GetString("S"));
    }

    [Fact]
    public async Task Queries_follow_continuations_across_pages()
    {
        var table = await NewTableAsync();
        for (var i = 0; i < 7; i++)
        {
            await table.InsertAsync(new TableEntity(new EntityKey($"p{i}", "r")).Set("N", i), Ct);
        }

        var all = await table.QueryAsync("N ge 2", pageSize: 2, ct: Ct).ToListAsync(Ct);

        Assert.Equal([2, 3, 4, 5, 6], all.Select(e => e.GetInt32("N")!.Value).Order());
        Assert.All(all, e => Assert.False(string.IsNullOrEmpty(e.ETag)));
    }

    [Fact]
    public async Task DateTime_properties_keep_their_100ns_precision()
    {
        var table = await NewTableAsync();
        var at = Records.Now;
        await table.InsertAsync(new TableEntity(new EntityKey("p", "r")).Set("At", at), Ct);

        Assert.Equal(at.UtcTicks, (await table.GetAsync(new EntityKey("p", "r"), Ct))!.GetDateTime("At")!.Value.UtcTicks);
    }

    [Fact]
    public async Task DateTime_filters_select_values_on_or_before_the_given_time()
    {
        var table = await NewTableAsync();
        var at = Records.Now;
        // A millisecond apart: Azurite compares datetimes at millisecond precision (Azure at 100 ns), so the
        // adapter re-checks due times itself and only relies on the filter to narrow the scan.
        await table.InsertAsync(new TableEntity(new EntityKey("early", "r")).Set("At", at), Ct);
        await table.InsertAsync(new TableEntity(new EntityKey("late", "r")).Set("At", at.AddMilliseconds(1)), Ct);

        var onOrBefore = await table.QueryAsync(TableKeys.OnOrBefore("At", at), ct: Ct).ToListAsync(Ct);

        Assert.Equal("early", Assert.Single(onOrBefore).PartitionKey);
    }

    [Fact]
    public async Task Service_errors_other_than_expected_outcomes_surface_as_RequestFailedException_with_the_error_code()
    {
        var table = await NewTableAsync();

        var failure = await Assert.ThrowsAsync<RequestFailedException>(
            () => table.InsertAsync(new TableEntity(new EntityKey("p", "r")).Set("S", new string('x', 40_000)), Ct));

        Assert.Equal(400, failure.Status);
        Assert.False(string.IsNullOrEmpty(failure.ErrorCode));
        // What was being stored never reaches the exception, and so never a log.
        Assert.DoesNotContain(new string('x', 64), failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Creating_a_table_that_exists_is_fine()
    {
        var table = await NewTableAsync();

        await table.CreateIfNotExistsAsync(Ct);
    }

    private async Task<TableClient> NewTableAsync()
    {
        var options = azurite.CreateOptions();
        var table = new TableClient(TableClient.CreatePipeline(options, null, null), options.Endpoint!, options.TablePrefix + "raw");
        await table.EnsureTableAsync(Ct);
        return table;
    }
}
