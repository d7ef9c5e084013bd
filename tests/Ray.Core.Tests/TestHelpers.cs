using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Ray.Core.Tests;

/// <summary>Shared constants and helpers for the suite.</summary>
internal static class Util
{
    /// <summary>Generous limit for anything that should finish: a bug fails rather than hangs.</summary>
    public static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    /// <summary>How long to watch for something that must NOT happen (no speed assertion).</summary>
    public static readonly TimeSpan Short = TimeSpan.FromMilliseconds(200);

    public static RayRuntime Start(double cpus = 2, IReadOnlyDictionary<string, double>? resources = null, double? gpus = null) =>
        RayRuntime.Start(new RuntimeOptions { NumCpus = cpus, Resources = resources, NumGpus = gpus });

    /// <summary>A key unique to one test, used to find that test's gates and counters from static task code.</summary>
    public static string Key([CallerMemberName] string name = "") => name + ":" + Guid.NewGuid().ToString("N");

    /// <summary>Polls <paramref name="condition"/> until true or the long timeout passes.</summary>
    public static bool Eventually(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Long);
        while (DateTime.UtcNow < deadline)
        {
            if (condition()) return true;
            Thread.Sleep(5);
        }
        return condition();
    }

    /// <summary>Runs full blocking GCs with finalizers until <paramref name="condition"/> holds (or gives up).</summary>
    public static bool CollectUntil(Func<bool> condition, int rounds = 50)
    {
        for (var i = 0; i < rounds; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
            if (condition()) return true;
            Thread.Sleep(10);
        }
        return condition();
    }

    /// <summary>The exception and its inner exceptions, outermost first.</summary>
    public static IEnumerable<Exception> Chain(Exception? e)
    {
        for (; e is not null; e = e.InnerException) yield return e;
    }

    public static double Cpu(this RayRuntime rt) => rt.AvailableResources.TryGetValue("CPU", out var v) ? v : 0;
}

/// <summary>
/// Per-test gates, flags, counters and barriers that static task code reaches by key.
/// Tests run in parallel, so every test uses its own <see cref="Util.Key"/>.
/// </summary>
public static class Probe
{
    private static readonly ConcurrentDictionary<string, ManualResetEventSlim> s_events = new();
    private static readonly ConcurrentDictionary<string, StrongBox<int>> s_counters = new();
    private static readonly ConcurrentDictionary<string, Barrier> s_barriers = new();
    private static readonly ConcurrentDictionary<string, ConcurrentQueue<string>> s_logs = new();

    public static ManualResetEventSlim Event(string key) => s_events.GetOrAdd(key, _ => new ManualResetEventSlim(false));

    public static void Set(string key) => Event(key).Set();

    public static bool IsSet(string key) => Event(key).IsSet;

    public static bool WaitFor(string key) => Event(key).Wait(Util.Long);

    public static int Increment(string key) => Interlocked.Increment(ref s_counters.GetOrAdd(key, _ => new StrongBox<int>()).Value);

    public static int Count(string key) => Volatile.Read(ref s_counters.GetOrAdd(key, _ => new StrongBox<int>()).Value);

    public static Barrier Barrier(string key, int participants) => s_barriers.GetOrAdd(key, _ => new Barrier(participants));

    public static void Log(string key, string entry) => s_logs.GetOrAdd(key, _ => new ConcurrentQueue<string>()).Enqueue(entry);

    public static string[] Logged(string key) => s_logs.GetOrAdd(key, _ => new ConcurrentQueue<string>()).ToArray();

    /// <summary>Task body: says it started, then blocks until the test opens its gate.</summary>
    public static int Block(string key, int value)
    {
        Set(key + ":started");
        if (!Event(key + ":release").Wait(Util.Long)) throw new TimeoutException($"gate {key} was never released");
        return value;
    }

    public static bool Started(string key) => IsSet(key + ":started");

    public static bool WaitStarted(string key) => WaitFor(key + ":started");

    public static void Release(string key) => Set(key + ":release");
}
