using Ray;

namespace Ray.Perf;

/// <summary>Placement group churn, as Ray's microbenchmark "placement group create/removal" (765/s published).</summary>
public static class PlacementGroupCases
{
    public static void Run(PerfHarness h, RayRuntime rt)
    {
        // As ray_perf.py: 100 groups of one small bundle made, each waited for, then all removed;
        // the rate counts groups. Connected, creates are pipelined to the raylet and the removals
        // are one-way (ordered before the next batch's creates on the same connection).
        IReadOnlyList<IReadOnlyDictionary<string, double>> bundles = [new Dictionary<string, double> { ["CPU"] = 0.001 }];
        const int batch = 100;
        var groups = new PlacementGroup[batch];
        h.Rate("placement_group_create_remove_per_s", () =>
        {
            for (var i = 0; i < batch; i++) groups[i] = rt.PlacementGroup(bundles);
            foreach (var pg in groups)
                if (!pg.Wait(TimeSpan.FromSeconds(5))) throw new CaseStalledException("a placement group was not created within 5 s");
            foreach (var pg in groups) rt.RemovePlacementGroup(pg);
        }, batch);
    }
}
