namespace Ray.Perf;

/// <summary>Generators for the streaming case: items of 1 KiB, yielded as fast as the runtime takes them.</summary>
public static class StreamFns
{
    // One buffer yielded again and again: each item is copied into its own object as it is
    // produced, so this measures the runtime's path, not the producer's allocations.
    private static readonly byte[] s_item = new byte[1024];

    public static IEnumerable<byte[]> Items(int n)
    {
        for (var i = 0; i < n; i++) yield return s_item;
    }
}

/// <summary>
/// streaming_returns_items_per_s: one streaming task yields items of 1 KiB; one consumer takes
/// each ref as it arrives, reads the item's value and drops the ref (issue 13's goal: 500,000/s
/// embedded, 100,000/s across processes), without a bound and with one of 64 items. Registered in both modes.
/// </summary>
public static class StreamingCases
{
    private const int ItemsPerStream = 20_000;

    public static void Run(PerfHarness h, RayRuntime rt)
    {
        Case(h, "streaming_returns_items_per_s", rt.Task(StreamFns.Items));
        // The same with a back-pressure bound of 64 items (Ray Data's way of using streams): the
        // producer waits for the consumer's acknowledgements (StreamAck frames across processes).
        Case(h, "streaming_returns_items_per_s_backpressure_64",
            rt.Task(StreamFns.Items).Options(new TaskOptions { GeneratorBackpressureItems = 64 }));
    }

    private static void Case(PerfHarness h, string name, RemoteFunction<Func<int, IEnumerable<byte[]>>> fn)
    {
        h.Rate(name, () =>
        {
            using var gen = fn.RemoteStream(ItemsPerStream);
            var n = 0;
            foreach (var r in gen)
            {
                using (r) n += r.Await().Length == 1024 ? 1 : 0;
            }
            if (n != ItemsPerStream) throw new InvalidOperationException($"the stream gave {n} items of 1 KiB, not {ItemsPerStream}");
        }, ItemsPerStream);
    }
}
