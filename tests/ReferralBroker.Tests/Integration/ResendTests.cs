using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ReferralBroker.Embedded;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using ReferralBroker.Tests.Reliability;

namespace ReferralBroker.Tests.Integration;

/// <summary>POST /api/referrals/{id}/resend: a referral whose partner could never be emailed, sent again.</summary>
public sealed class ResendTests : IDisposable
{
    private readonly BrokerApp _app = new();

    public void Dispose() => _app.Dispose();

    /// <summary>The client and consent of a submission, as the caseworker types them again with the person.</summary>
    private static object Again(string marker = "AGAIN", string[]? shared = null) => new
    {
        consent = new { obtainedBy = "verbal", sharedFields = shared ?? ["firstName", "contact", "contactVia", "needs"] },
        client = new Dictionary<string, string>
        {
            ["firstName"] = $"Mai{marker}",
            ["contact"] = $"Signal +66 80 000 1111 {marker}",
            ["contactVia"] = "client",
            ["needs"] = $"STI testing {marker}",
        },
    };

    /// <summary>
    /// A referral whose message outlived its time-to-live unsent, so the sweep marked it deliveryFailed; with the link
    /// secret its message carried, as a partner would have had it.
    /// </summary>
    private static async Task<(Submitted Referral, PartnerLink OldLink)> FailedAsync(BrokerApp app)
    {
        var submitted = await app.SubmitAsync();
        var leased = await app.Services.GetRequiredService<SqliteReferralQueue>().TryReceiveAsync(CancellationToken.None);
        app.Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await app.SweepAsync();
        var view = await app.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{submitted.ReferralId}");
        Assert.True(view.GetProperty("deliveryFailed").GetBoolean());
        return (submitted, new PartnerLink(submitted.ReferralId, leased!.Message.LinkSecret));
    }

    private Task<HttpResponseMessage> ResendAsync(string referralId, object body, string key = BrokerApp.OrgKey) =>
        _app.Organisation(key).PostAsJsonAsync($"/api/referrals/{referralId}/resend", body);

    private static PartnerLink LastLinkFor(BrokerApp app, string referralId) =>
        BrokerApp.LinkIn(app.Mailbox.Messages().Last(m => m.IsPartnerEmail && m.ReferralId == referralId).Text);

    [Fact]
    public async Task A_referral_whose_partner_was_paused_since_is_refused_with_409_saying_so_not_a_422_naming_a_field_not_sent()
    {
        using var app = Coordinator.App();
        var (submitted, _) = await FailedAsync(app);
        Assert.Equal(HttpStatusCode.OK, (await Coordinator.Client(app).PostAsync("/api/admin/partners/demo-health/pause", null)).StatusCode);

        var response = await app.Organisation().PostAsJsonAsync($"/api/referrals/{submitted.ReferralId}/resend", Again());

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("another partner", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(problem.TryGetProperty("errors", out _));
    }

    [Fact]
    public async Task A_failed_referral_sent_again_reaches_the_partner_with_the_details_typed_again_and_the_clients_card_still_works()
    {
        var (submitted, oldLink) = await FailedAsync(_app);

        var response = await ResendAsync(submitted.ReferralId, Again());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var resent = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(submitted.ReferralId, resent.GetProperty("referralId").GetString());
        Assert.Equal("submitted", resent.GetProperty("status").GetString());
        Assert.False(resent.TryGetProperty("deliveryFailed", out var failed) && failed.ValueKind == JsonValueKind.True);
        Assert.False(resent.TryGetProperty("statusToken", out _));

        Assert.Equal(1, await _app.DispatchAsync());
        var link = LastLinkFor(_app, submitted.ReferralId);
        Assert.NotEqual(oldLink.Secret, link.Secret);
        Assert.Equal(HttpStatusCode.OK, (await _app.Partner(link).GetAsync($"/api/partner/referrals/{submitted.ReferralId}")).StatusCode);
        var record = (await _app.Services.GetRequiredService<IReferralStore>().FindAsync(submitted.ReferralId, CancellationToken.None))!.Value;
        var opened = System.Text.Encoding.UTF8.GetString(Sealing.ReferralSeal.Open(submitted.ReferralId, record.Sealed!, link.SecretBytes));
        Assert.Contains("MaiAGAIN", opened, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await _app.Partner(oldLink).GetAsync($"/api/partner/referrals/{submitted.ReferralId}")).StatusCode);

        // The card the client took home opens the same referral, now delivered.
        Assert.Equal("delivered", (await _app.StatusAsync(submitted.StatusToken)).GetProperty("status").GetString());
        var view = await _app.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{submitted.ReferralId}");
        Assert.Equal(["submitted", "submitted", "delivered"], view.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("status").GetString()));
        Assert.False(view.TryGetProperty("deliveryFailed", out var stillFailed) && stillFailed.ValueKind == JsonValueKind.True);
    }

    [Fact]
    public async Task A_referral_not_marked_deliveryFailed_is_not_sent_again()
    {
        var onItsWay = await _app.SubmitAsync();
        Assert.Equal(HttpStatusCode.Conflict, (await ResendAsync(onItsWay.ReferralId, Again())).StatusCode);

        var (failed, _) = await FailedAsync(_app);
        Assert.Equal(HttpStatusCode.OK, (await ResendAsync(failed.ReferralId, Again())).StatusCode);
        var twice = await ResendAsync(failed.ReferralId, Again("THIRD"));
        Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);
        Assert.Equal("application/problem+json", twice.Content.Headers.ContentType?.MediaType);
        Assert.Equal(1, await _app.DispatchAsync());
        Assert.DoesNotContain(_app.Outbox(), m => m.Contains("THIRD", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Another_organisations_referral_or_an_unknown_one_is_not_found()
    {
        var (failed, _) = await FailedAsync(_app);
        Assert.Equal(HttpStatusCode.NotFound, (await ResendAsync(failed.ReferralId, Again(), BrokerApp.OtherOrgKey)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await ResendAsync("ref_000000000000000000000000", Again())).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.CreateClient().PostAsJsonAsync($"/api/referrals/{failed.ReferralId}/resend", Again())).StatusCode);
    }

    [Fact]
    public async Task Details_without_consent_are_refused_naming_the_field_and_the_referral_stays_ready_to_send_again()
    {
        var (failed, _) = await FailedAsync(_app);
        var refused = await ResendAsync(failed.ReferralId, Again(shared: ["firstName", "contact", "contactVia"]));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("client.needs", out _));

        var shape = await ResendAsync(failed.ReferralId, new { category = "legal", client = new { firstName = "Mai" } });
        Assert.Equal(HttpStatusCode.BadRequest, shape.StatusCode);
        Assert.True((await shape.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("category", out _));

        var view = await _app.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{failed.ReferralId}");
        Assert.True(view.GetProperty("deliveryFailed").GetBoolean());
        Assert.Equal(0, await _app.DispatchAsync());
        Assert.Equal(HttpStatusCode.OK, (await ResendAsync(failed.ReferralId, Again())).StatusCode);
    }

    [Fact]
    public async Task A_second_delivery_failure_after_a_resend_is_notified_under_its_own_event_id()
    {
        var (failed, _) = await FailedAsync(_app);
        Assert.Equal(HttpStatusCode.OK, (await ResendAsync(failed.ReferralId, Again())).StatusCode);
        Assert.True(await _app.Services.GetRequiredService<ReferralService>().MarkUndeliverableAsync(failed.ReferralId, CancellationToken.None));

        var record = (await _app.Services.GetRequiredService<IReferralStore>().FindAsync(failed.ReferralId, CancellationToken.None))!.Value;
        var ids = record.Notifications.Where(n => n.Event == ClosedLoop.DeliveryFailedEvent).Select(n => n.EventId).ToList();
        Assert.Equal(ids.Distinct().Count(), ids.Count);
        Assert.True(record.DeliveryFailed);
        Assert.Null(record.Sealed);
    }

    [Fact]
    public async Task Embedded_resend_writes_the_record_and_its_message_together_or_not_at_all()
    {
        var (failed, _) = await FailedAsync(_app);
        await SqliteFile.ExecuteAsync(_app, "CREATE TRIGGER queue_full BEFORE INSERT ON queue BEGIN SELECT RAISE(ABORT, 'disk full'); END;");

        Assert.Equal(HttpStatusCode.InternalServerError, (await ResendAsync(failed.ReferralId, Again())).StatusCode);
        var view = await _app.Organisation().GetFromJsonAsync<JsonElement>($"/api/referrals/{failed.ReferralId}");
        Assert.True(view.GetProperty("deliveryFailed").GetBoolean());
        Assert.Single(view.GetProperty("history").EnumerateArray());

        await SqliteFile.ExecuteAsync(_app, "DROP TRIGGER queue_full;");
        Assert.Equal(HttpStatusCode.OK, (await ResendAsync(failed.ReferralId, Again())).StatusCode);
        Assert.Equal(1, await _app.DispatchAsync());
        Assert.Equal("delivered", (await _app.StatusAsync(failed.StatusToken)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Queued_first_as_in_Azure_a_resend_cut_off_before_its_record_answers_no_success_and_its_message_waits_instead_of_being_dropped()
    {
        var replaces = new FailsReplaces(failures: 1);
        using var app = new BrokerApp(services: services => services.AddSingleton<IReferralIntake>(sp => new QueueThenStoreIntake(
            sp.GetRequiredService<SqliteReferralQueue>(), replaces.Around(sp.GetRequiredService<SqliteReferralStore>()))));
        var (failed, _) = await FailedAsync(app);
        var organisation = app.Organisation();

        var cut = await organisation.PostAsJsonAsync($"/api/referrals/{failed.ReferralId}/resend", Again());
        Assert.Equal(HttpStatusCode.InternalServerError, cut.StatusCode);
        Assert.True((await organisation.GetFromJsonAsync<JsonElement>($"/api/referrals/{failed.ReferralId}")).GetProperty("deliveryFailed").GetBoolean());

        // Its message is queued and opens nothing stored: the replace may still be on its way, so it is left for later.
        var queue = app.Services.GetRequiredService<SqliteReferralQueue>();
        var orphan = await queue.TryReceiveAsync(CancellationToken.None);
        Assert.NotNull(orphan);
        var dispatcher = app.Services.GetRequiredService<ReferralDispatcher>();
        Assert.Equal(DispatchResult.NotYetStored, await dispatcher.DispatchAsync(orphan.Message, CancellationToken.None));
        Assert.Empty(app.Outbox());
        await queue.CompleteAsync([orphan.Sequence], CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, (await organisation.PostAsJsonAsync($"/api/referrals/{failed.ReferralId}/resend", Again())).StatusCode);
        Assert.Equal(1, await app.DispatchAsync());
        Assert.Equal("delivered", (await app.StatusAsync(failed.StatusToken)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task The_duress_token_keeps_working_after_a_resend()
    {
        var body = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(BrokerApp.Referral())!;
        body["duressToken"] = JsonSerializer.SerializeToElement(true);
        var created = await (await _app.Organisation().PostAsJsonAsync("/api/referrals", body)).Content.ReadFromJsonAsync<JsonElement>();
        var referralId = created.GetProperty("referralId").GetString()!;
        _app.Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await _app.SweepAsync();

        Assert.Equal(HttpStatusCode.OK, (await ResendAsync(referralId, Again())).StatusCode);
        var record = (await _app.Services.GetRequiredService<IReferralStore>().FindAsync(referralId, CancellationToken.None))!.Value;
        Assert.NotNull(record.DuressTokenHash);
        Assert.Equal(HttpStatusCode.NotFound, (await _app.CreateClient().PostAsJsonAsync("/api/status", new { token = created.GetProperty("duressToken").GetString() })).StatusCode);
    }
    [Fact]
    public async Task A_referral_sent_again_and_again_is_still_gone_180_days_after_submission_as_the_README_promises()
    {
        var (failed, _) = await FailedAsync(_app);
        var store = _app.Services.GetRequiredService<IReferralStore>();
        var referrals = _app.Services.GetRequiredService<ReferralService>();
        var createdAt = (await store.FindAsync(failed.ReferralId, CancellationToken.None))!.Value.CreatedAt;

        // Each time just before consent ends, the partner refuses the email for good and the caseworker sends it
        // again with the longest consent there is: the record must still not outlive MaxRecordAge.
        for (var round = 0; round < 3; round++)
        {
            if (round > 0)
            {
                _app.Time.Advance(TimeSpan.FromDays(89));
                await _app.SweepAsync();
            }

            var longest = new
            {
                consent = new
                {
                    obtainedBy = "verbal",
                    sharedFields = new[] { "firstName", "contact", "contactVia", "needs" },
                    expiresAt = _app.Time.GetUtcNow() + TimeSpan.FromDays(90),
                },
                client = new { firstName = $"Mai{round}", contact = "Signal +66 80 000 1111", contactVia = "client", needs = "STI testing" },
            };
            Assert.Equal(HttpStatusCode.OK, (await ResendAsync(failed.ReferralId, longest)).StatusCode);
            Assert.True(await referrals.MarkUndeliverableAsync(failed.ReferralId, CancellationToken.None));
        }

        _app.Time.SetUtcNow(createdAt + TimeSpan.FromDays(180) + TimeSpan.FromMinutes(1));
        await _app.SweepAsync();
        Assert.Null(await store.FindAsync(failed.ReferralId, CancellationToken.None));
    }
}
