using Ray;

namespace Ray.Perf;

/// <summary>
/// The large-object round trip: put a 1 MiB byte[], open a zero-copy view, dispose the view and
/// the ref. Embedded it goes to the in-process store; connected to a raylet, to the node's store
/// over its socket (embedded_put_get_1MiB_per_s beside connected_put_get_1MiB_per_s).
/// </summary>
public static class ObjectPathCases
{
    public static void PutGet1MiB(PerfHarness h, RayRuntime rt, string name)
    {
        if (!h.Selected(name)) return;
        var data = new byte[1 << 20];
        data.AsSpan().Fill(7);
        h.Rate(name, () =>
        {
            using var r = rt.Put(data);
            using var view = r.GetView();
            if (view.Span[^1] != 7) throw new InvalidOperationException("the view does not show the bytes put");
        });
    }
}
