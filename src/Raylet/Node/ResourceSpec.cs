using System.Text.Json;

namespace Ray.Raylet.Node;

/// <summary>Parses the <c>--resources</c> JSON object of <c>ray start</c>, e.g. <c>{"accelerator": 2, "disk": 0.5}</c>.</summary>
public static class ResourceSpec
{
    /// <summary>The object's entries; null or blank text is an empty set.</summary>
    /// <exception cref="FormatException">Not a JSON object of names to non-negative numbers.</exception>
    public static IReadOnlyDictionary<string, double> ParseJson(string? json)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(json)) return result;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 4 }); }
        catch (JsonException e) { throw new FormatException($"--resources is not valid JSON: {e.Message}", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new FormatException($"--resources must be a JSON object of names to amounts, e.g. '{{\"accelerator\": 2}}', not a {doc.RootElement.ValueKind}");
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Value.ValueKind != JsonValueKind.Number)
                    throw new FormatException($"--resources: '{prop.Name}' must be a number, not {prop.Value.ValueKind}");
                // TryGetDouble fails on a number out of double's range (1e999): not finite.
                if (!prop.Value.TryGetDouble(out var amount) || !double.IsFinite(amount))
                    throw new FormatException($"--resources: '{prop.Name}' is {prop.Value.GetRawText()}, not a finite number; amounts must be finite and at least 0");
                if (amount < 0)
                    throw new FormatException($"--resources: '{prop.Name}' is {amount}; amounts must be at least 0");
                if (!result.TryAdd(prop.Name, amount))
                    throw new FormatException($"--resources: '{prop.Name}' appears twice");
            }
        }
        return result;
    }
}
