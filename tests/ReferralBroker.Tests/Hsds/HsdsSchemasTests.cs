using System.Text.Json.Nodes;

namespace ReferralBroker.Tests.Hsds;

/// <summary>The validator itself: the specification's own example passes both checks, and each check catches what it should.</summary>
public sealed class HsdsSchemasTests
{
    private static JsonNode ServiceFull() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(HsdsSchemas.SpecDirectory, "examples", "service_full.json")))!;

    [Fact]
    public void The_specifications_full_service_example_is_valid_both_ways()
    {
        Assert.Empty(HsdsSchemas.ValidateService(ServiceFull()));
    }

    [Fact]
    public void A_property_HSDS_does_not_define_fails_the_strict_check_only()
    {
        var service = ServiceFull();
        service["languages"]![0]!["flag"] = "x";

        var errors = HsdsSchemas.ValidateService(service);

        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.Contains("additionalProperties:false", e, StringComparison.Ordinal));
    }

    [Fact]
    public void A_nested_item_without_its_id_or_with_a_non_uuid_id_fails_both_checks()
    {
        var service = ServiceFull();
        service["languages"]![0]!.AsObject().Remove("id");
        service["service_areas"]![0]!["id"] = "north";

        var errors = HsdsSchemas.ValidateService(service);

        Assert.Contains(errors, e => e.StartsWith("/languages/0", StringComparison.Ordinal) && e.Contains("refs resolved", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("/languages/0", StringComparison.Ordinal) && e.Contains("additionalProperties:false", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("/service_areas/0/id", StringComparison.Ordinal) && e.Contains("format", StringComparison.Ordinal));
    }

    [Fact]
    public void A_taxonomy_term_needs_its_id_name_and_description()
    {
        var term = new JsonObject { ["id"] = "7a1d6e3b-5c8f-4a2e-9b1d-3c4e5f6a7b8c", ["name"] = "Health", ["description"] = "Health care." };
        Assert.Empty(HsdsSchemas.ValidateTaxonomyTerm(term));

        term.Remove("description");
        Assert.NotEmpty(HsdsSchemas.ValidateTaxonomyTerm(term));
        Assert.NotEmpty(HsdsSchemas.ValidateTaxonomy(new JsonObject { ["id"] = "x", ["name"] = "n", ["description"] = "d" }));
    }

    [Fact]
    public void A_page_needs_the_page_fields_and_valid_contents()
    {
        var page = new JsonObject
        {
            ["total_items"] = 1, ["total_pages"] = 1, ["page_number"] = 1, ["size"] = 1,
            ["first_page"] = true, ["last_page"] = true, ["empty"] = false,
            ["contents"] = new JsonArray(new JsonObject { ["id"] = "7a1d6e3b-5c8f-4a2e-9b1d-3c4e5f6a7b8c", ["name"] = "Health", ["description"] = "Health care." }),
        };
        Assert.Empty(HsdsSchemas.ValidatePage(page, "taxonomy"));

        page.Remove("empty");
        page["contents"]![0]!["id"] = "health";
        var errors = HsdsSchemas.ValidatePage(page, "taxonomy");
        Assert.Contains(errors, e => e.Contains("empty", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("contents[0]/id", StringComparison.Ordinal));
    }
}
