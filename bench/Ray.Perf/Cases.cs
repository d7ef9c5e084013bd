using System.Runtime.InteropServices;
using Ray;

namespace Ray.Perf;

/// <summary>The functions and actor that Ray's ray_perf uses: tiny bodies returning at once.</summary>
public static class PerfFns
{
    public static int SmallValue() => 0;
}

/// <summary>
/// A result that did not arrive within <see cref="PerfWait.StallTimeout"/>: the case is reported as
/// stalled (NAME_stalled in perf.json) instead of hanging the whole run.
/// </summary>
public sealed class CaseStalledException(string message) : Exception(message);

/// <summary>Gets of task and actor results, bounded in cluster mode so a lost message shows as a stall.</summary>
public static class PerfWait
{
    /// <summary>Null: wait forever (embedded). Cluster mode sets a bound.</summary>
    public static TimeSpan? StallTimeout { get; set; }

    public static T Await<T>(this ObjectRef<T> r)
    {
        if (StallTimeout is not { } limit) return r.Get();
        try { return r.Get(limit); }
        catch (GetTimeoutException)
        {
            throw new CaseStalledException($"a result did not arrive within {limit.TotalSeconds:0} s");
        }
    }
}

/// <summary>Ray's microbenchmark actor: a method returning a small value.</summary>
public sealed class PerfActor
{
    public int SmallValue() => 0;

    /// <summary>Sends <paramref name="n"/> calls round robin to the actors and waits for all (1_n, n_n).</summary>
    public static int CallMany(ActorHandle<PerfActor>[] actors, int n)
    {
        var refs = new ObjectRef<int>[n];
        for (var i = 0; i < n; i++) refs[i] = actors[i % actors.Length].Task(a => a.SmallValue()).Remote();
        foreach (var r in refs) r.Await();
        return n;
    }
}

/// <summary>
/// Ray's microbenchmark cases, named as in its table, against any runtime: embedded
/// (<c>RayRuntime.Start</c>) or a driver connected to a raylet (<c>RayRuntime.Connect</c>, where the
/// functions and the actor run in worker processes that load this assembly).
/// </summary>
public static class RayCases
{
    public static void Run(PerfHarness h, RayRuntime rt)
    {
        var fn = rt.Task(PerfFns.SmallValue);
        var clients = Math.Max(2, Environment.ProcessorCount);

        h.Rate("single_client_tasks_sync", () => fn.Remote().Await());
        h.Latency("single_client_tasks_sync_latency", () => fn.Remote().Await(), spread: true);

        var batch = new ObjectRef<int>[1000];
        h.Rate("single_client_tasks_async", () =>
        {
            for (var i = 0; i < batch.Length; i++) batch[i] = fn.Remote();
            for (var i = 0; i < batch.Length; i++) batch[i].Await();
        }, batch.Length);

        h.Rate("multi_client_tasks_async", () =>
        {
            Parallel.For(0, clients, new ParallelOptions { MaxDegreeOfParallelism = clients }, _ =>
            {
                var refs = new ObjectRef<int>[1000];
                for (var i = 0; i < refs.Length; i++) refs[i] = fn.Remote();
                foreach (var r in refs) r.Await();
            });
        }, clients * 1000);

        var actor = rt.Actor<PerfActor>().Remote();
        var method = actor.Task(a => a.SmallValue());
        h.Rate("1_1_actor_calls_sync", () => method.Remote().Await());
        h.Rate("1_1_actor_calls_async", () =>
        {
            for (var i = 0; i < batch.Length; i++) batch[i] = method.Remote();
            for (var i = 0; i < batch.Length; i++) batch[i].Await();
        }, batch.Length);

        var actors = Enumerable.Range(0, clients).Select(_ => rt.Actor<PerfActor>().Remote()).ToArray();
        h.Rate("1_n_actor_calls_async", () => PerfActor.CallMany(actors, 1000 * actors.Length), 1000 * actors.Length);
        h.Rate("n_n_actor_calls_async", () =>
        {
            Parallel.For(0, clients, new ParallelOptions { MaxDegreeOfParallelism = clients },
                _ => PerfActor.CallMany(actors, 1000));
        }, clients * 1000);

        PlacementGroupCases.Run(h, rt);

        h.Rate("single_client_put_calls", () => rt.Put(0));
        var stored = rt.Put(0);
        h.Rate("single_client_get_calls", () => stored.Get());

        if (h.Selected("single_client_put_gigabytes"))
        {
            // Ray puts a 100M-element int64 array (800 MB) per call.
            var big = new long[100 * 1024 * 1024];
            big.AsSpan().Fill(1);
            // Dispose drops the reference at once, as Python's refcount does when ray_perf discards the ref.
            h.Bandwidth("single_client_put_gigabytes", () => rt.Put(big).Dispose(), (long)big.Length * sizeof(long));
            big = null;
            GC.Collect();
        }

        if (h.Selected("native_put_gigabytes")) NativePutGigabytes(h, rt);

        h.Rate("single_client_wait_1k_refs", () =>
        {
            var notReady = new List<ObjectRef<int>>(1000);
            for (var i = 0; i < 1000; i++) notReady.Add(fn.Remote());
            IReadOnlyList<ObjectRef<int>> rest = notReady;
            for (var i = 0; i < 1000; i++) rest = rt.Wait(rest).NotReady;
        });

        if (h.Selected("single_client_get_object_containing_10k_refs"))
        {
            var inner = new List<ObjectRef<int>>(10_000);
            for (var i = 0; i < 10_000; i++) inner.Add(rt.Put(i));
            var outer = rt.Put(inner);
            h.Rate("single_client_get_object_containing_10k_refs", () => outer.Get());
        }
    }

    /// <summary>
    /// The C ABI's large put beside single_client_put_gigabytes: the same 800 MB, from native
    /// memory, through the call ray_put makes (<c>Core.PutBytesEntry(bytes, nativeMemory: true)</c>)
    /// and the release ray_object_release makes. Only the handle table around them (a few
    /// nanoseconds) is left out: calling libray_runtime.so would need `make native` (NativeAOT)
    /// before every `make perf`, and the .so cannot be loaded into a process that runs the managed
    /// Ray.Core already.
    /// </summary>
    private static unsafe void NativePutGigabytes(PerfHarness h, RayRuntime rt)
    {
        const long bytes = 100L * 1024 * 1024 * sizeof(long);
        var native = (byte*)NativeMemory.Alloc((nuint)bytes);
        try
        {
            new Span<byte>(native, (int)bytes).Fill(1); // touched, as a C caller's buffer would be
            h.Bandwidth("native_put_gigabytes", () =>
            {
                var entry = rt.Core.PutBytesEntry(new ReadOnlySpan<byte>(native, (int)bytes), nativeMemory: true);
                entry.Release();
            }, bytes);
        }
        finally { NativeMemory.Free(native); }
    }
}

/// <summary>Floors measured with the same harness in the same run.</summary>
public static class Floors
{
    private static async Task AwaitMany(int n)
    {
        for (var i = 0; i < n; i++) await Task.Run(static () => 1);
    }

    public static void Run(PerfHarness h)
    {
        // Sequential `await Task.Run(() => 1)`, as ../shared/peers/dotnet-baselines measures it.
        h.Rate("floor_task_roundtrip", () => AwaitMany(1000).GetAwaiter().GetResult(), 1000, unitMode: "floor");
        if (h.Selected("floor_memcpy_gbps"))
        {
            const int size = 256 << 20;
            var src = GC.AllocateUninitializedArray<byte>(size, pinned: true);
            var dst = GC.AllocateUninitializedArray<byte>(size, pinned: true);
            src.AsSpan().Fill(1);
            dst.AsSpan().Fill(2);
            h.Bandwidth("floor_memcpy_gbps", () => src.AsSpan().CopyTo(dst), size, minCalls: 5);
            if (h.Selected("floor_memcpy_shm_gbps"))
            {
                // The same copy into a pre-faulted shared-memory mapping (/dev/shm, 4 KiB pages).
                var dir = Directory.CreateTempSubdirectory("ray-perf-shm-");
                using var arena = Ray.Plasma.Store.PlasmaArena.Create(Path.Combine("/dev/shm", "ray-perf-" + Guid.NewGuid().ToString("N")), size);
                h.Bandwidth("floor_memcpy_shm_gbps", () => src.AsSpan().CopyTo(arena.Slice(0, size)), size, minCalls: 5);
                dir.Delete();
            }
        }
    }
}
