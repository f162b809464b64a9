using ReferralBroker.Azure.TableStorage;
using ReferralBroker.Ports;

namespace ReferralBroker.Azure.Tests.TableStorage;

[Collection(AzuriteCollection.Name)]
public sealed class TableIdempotencyStoreTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task GetOrAdd_stores_a_new_key_and_returns_it()
    {
        var store = new TableIdempotencyStore(azurite.CreateOptions(), credential: null);
        var record = NewRecord(Records.Now.AddHours(24));

        Assert.Equal(record, await store.GetOrAddAsync(record, Ct));
    }

    [Fact]
    public async Task GetOrAdd_for_a_key_already_stored_returns_the_first_record()
    {
        var store = new TableIdempotencyStore(azurite.CreateOptions(), credential: null);
        var first = NewRecord(Records.Now.AddHours(24));
        var second = NewRecord(Records.Now.AddHours(25)) with { KeyHash = first.KeyHash };

        await store.GetOrAddAsync(first, Ct);

        Assert.Equal(first, await store.GetOrAddAsync(second, Ct));
    }

    [Fact]
    public async Task Concurrent_GetOrAdd_for_one_key_all_get_the_same_stored_record()
    {
        var store = new TableIdempotencyStore(azurite.CreateOptions(), credential: null);
        var keyHash = Records.NewTokenHash();
        var candidates = Enumerable.Range(0, 8).Select(_ => NewRecord(Records.Now.AddHours(24)) with { KeyHash = keyHash }).ToList();

        var stored = await Task.WhenAll(candidates.Select(c => Task.Run(() => store.GetOrAddAsync(c, Ct), Ct)));

        Assert.Single(stored.Distinct());
        Assert.Contains(stored[0], candidates);
    }

    [Fact]
    public async Task PurgeExpired_removes_keys_expired_by_now_and_keeps_the_rest()
    {
        var store = new TableIdempotencyStore(azurite.CreateOptions(), credential: null);
        var now = Records.Now;
        var expired = NewRecord(now.AddHours(-1));
        var expiringExactlyNow = NewRecord(now);
        var live = NewRecord(now.AddTicks(1));
        foreach (var record in new[] { expired, expiringExactlyNow, live })
        {
            await store.GetOrAddAsync(record, Ct);
        }

        Assert.Equal(2, await store.PurgeExpiredAsync(now, Ct));
        Assert.Equal(0, await store.PurgeExpiredAsync(now, Ct));

        // A purged key is free again; a live one still answers with its first record.
        var reused = NewRecord(now.AddHours(24)) with { KeyHash = expired.KeyHash };
        Assert.Equal(reused, await store.GetOrAddAsync(reused, Ct));
        Assert.Equal(live, await store.GetOrAddAsync(NewRecord(now.AddHours(24)) with { KeyHash = live.KeyHash }, Ct));
    }

    private static IdempotencyRecord NewRecord(DateTimeOffset expiresAt) =>
        new(Records.NewTokenHash(), Records.NewTokenHash(), Records.NewReferralId(), "sealed-" + Guid.NewGuid().ToString("N"), expiresAt);
}
