using Ray;

namespace Ray.Perf;

/// <summary>Placement group churn (Ray's microbenchmark "placement group create/removal", 765/s published).</summary>
public static class PlacementGroupCases
{
    public static void Run(PerfHarness h, RayRuntime rt)
    {
        IReadOnlyList<IReadOnlyDictionary<string, double>> bundles = [new Dictionary<string, double> { ["CPU"] = 1 }];
        // One group made, awaited ready and removed per call: a raylet round trip when connected
        // (the removal is one-way and ordered before the next create on the same connection).
        h.Rate("placement_group_create_remove_per_s", () =>
        {
            var pg = rt.PlacementGroup(bundles);
            if (!pg.Wait(TimeSpan.FromSeconds(5))) throw new CaseStalledException("a placement group was not created within 5 s");
            rt.RemovePlacementGroup(pg);
        });
    }
}
