using System.Text.Json.Serialization;

// The bare platform, as the ASP.NET Core minimal API template makes it: one endpoint that reads a small JSON body
// and answers with a small JSON body, published exactly like the broker (Release, self-contained, ReadyToRun).
var builder = WebApplication.CreateBuilder(args);
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, BaselineJson.Default));

var app = builder.Build();
app.MapPost("/api/echo", (Ping ping) => TypedResults.Ok(new Pong("ok", ping.Token?.Length ?? 0)));
app.Run();

internal sealed record Ping(string? Token);

internal sealed record Pong(string Status, int Length);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Ping))]
[JsonSerializable(typeof(Pong))]
internal sealed partial class BaselineJson : JsonSerializerContext;
