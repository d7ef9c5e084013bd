using System.Diagnostics;
using Ray;
using Ray.Demo;

// The demo job of `make run`: the Ray model on an embedded runtime in one process, or on a
// cluster when RAY_ADDRESS names one (`RAY_ADDRESS=/tmp/ray/session_latest make run`).
// Embedded by default; with RAY_ADDRESS set (e.g. after `ray start --head`), the same code runs on the cluster.
await using var ray = RayRuntime.Init();
Console.WriteLine(ray.IsConnected ? "connected to the cluster" : "embedded runtime");
Console.WriteLine($"Ray runtime started: {Format(ray.ClusterResources)}");

// 1. Fan out: one task per chunk, all submitted at once; each returns an ObjectRef at once.
var sw = Stopwatch.StartNew();
var squares = Enumerable.Range(1, 1000).Select(i => ray.Task(Work.SquareSum).Remote(i * 1000, (i + 1) * 1000)).ToList();

// 2. Objects by reference: the partial sums go into further tasks without passing through
//    the driver; each pair task runs once both of its inputs are ready.
var pairs = new List<ObjectRef<long>>();
for (var i = 0; i < squares.Count; i += 2) pairs.Add(ray.Task(Work.Add).Remote(squares[i], squares[i + 1]));

// 3. An actor accumulates the results: its state lives with the actor, calls run in order.
var total = ray.Actor<Accumulator>(new ActorOptions { Name = "totals" }).Remote();
foreach (var p in pairs) _ = total.Task((Accumulator a, long x) => a.Add(x)).Remote(p);
var sum = await total.Task(a => a.Total).Remote();
var count = await ray.GetActor<Accumulator>("totals").Task(a => a.Count).Remote();
Console.WriteLine($"fan-out: {squares.Count} tasks + {pairs.Count} pair tasks -> actor got {count} values, sum of squares 1000..1001000 = {sum:N0} ({sw.Elapsed.TotalMilliseconds:0.0} ms)");

// 4. A large put: arrays of unmanaged values are stored as raw bytes.
var data = ray.Put(Enumerable.Range(0, 1_000_000).Select(i => (double)i).ToArray());
Console.WriteLine($"mean of 1M doubles computed remotely from a put object: {await ray.Task(Work.Mean).Remote(data):N1}");

// 5. A failed task is caught with its remote type, message and stack; a dependent task
//    fails with the cause chained.
var bad = ray.Task(Work.Divide).Remote(1, 0);
var dependent = ray.Task(Work.Add).Remote(bad.AsLong(ray), 1L);
try
{
    await dependent;
}
catch (RayTaskException e)
{
    Console.WriteLine($"caught: {e.Message}");
    var root = e.RootCause;
    Console.WriteLine($"  root cause: {root.RemoteExceptionType}: {root.RemoteMessage} (in {root.TaskName})");
    Console.WriteLine($"  thrown at: {root.RemoteStackTrace?.Split('\n')[0].Trim()}");
}

// 6. Wait for the first ready of several tasks, with a timeout.
var sleepers = new[] { 300, 10, 200 }.Select(ms => ray.Task(Work.Sleep).Remote(ms)).ToList();
var (ready, notReady) = ray.Wait(sleepers, numReturns: 1, timeout: TimeSpan.FromSeconds(5));
Console.WriteLine($"wait: first ready slept {await (ObjectRef<int>)ready[0]} ms, {notReady.Count} still running");
ray.Get(sleepers);

// 7. A placement group: two 1-CPU bundles reserved together; tasks placed into them, then the
//    reservation handed back. And a streaming task: its refs arrive while it still produces.
var pg = ray.PlacementGroup([new Dictionary<string, double> { ["CPU"] = 1 }, new Dictionary<string, double> { ["CPU"] = 1 }]);
await pg.Ready();
var placed = Enumerable.Range(0, 2).Select(i => ray.Task(Work.Sleep)
    .Options(new TaskOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg, i) }).Remote(5)).ToList();
ray.Get(placed);
Console.WriteLine($"placement group {pg.Id}: {pg.Bundles.Count} bundles {pg.State}, CPU free meanwhile {ray.AvailableResources["CPU"]}");
ray.RemovePlacementGroup(pg);
using (var squaresSoFar = ray.Task(Work.Squares).RemoteStream(5))
    Console.WriteLine($"streamed: {string.Join(", ", squaresSoFar.Select(r => r.Get()))}");
// ---- 7. Ray.Data: a small pipeline of Arrow blocks in the object store (DataDemo.cs) ----
await DataDemo.RunAsync(ray);
// ---- end of Ray.Data ----

squares.Clear();
pairs.Clear();
GC.Collect();
GC.WaitForPendingFinalizers();
Console.WriteLine($"stats: {ray.Stats}");

// ---- Ray Serve: an HTTP application on the same runtime (start, a few requests, shut down) ----
await ServeDemo.RunAsync(ray);
// ---- end of Ray Serve ----
return;

static string Format(IReadOnlyDictionary<string, double> r) =>
    string.Join(", ", r.Where(kv => kv.Value != 0).Select(kv => kv.Key == "memory" ? $"memory: {kv.Value / (1 << 30):0.0} GiB" : $"{kv.Key}: {kv.Value}"));

namespace Ray.Demo
{
    /// <summary>Remote functions: plain static methods.</summary>
    public static class Work
    {
        public static long SquareSum(int from, int to)
        {
            long s = 0;
            for (long i = from; i < to; i++) s += i * i;
            return s;
        }

        public static long Add(long a, long b) => a + b;

        public static int Divide(int a, int b) => a / b;

        public static long Widen(int x) => x;

        public static double Mean(double[] xs) => xs.Average();

        /// <summary>A generator: called with RemoteStream, each square is a ref as soon as it is made.</summary>
        public static IEnumerable<int> Squares(int n)
        {
            for (var i = 1; i <= n; i++) yield return i * i;
        }

        public static int Sleep(int ms)
        {
            Thread.Sleep(ms);
            return ms;
        }

        /// <summary>Turns an int result into a long one, through a task (so failure propagates).</summary>
        public static ObjectRef<long> AsLong(this ObjectRef<int> r, RayRuntime ray) => ray.Task(Widen).Remote(r);
    }

    /// <summary>An actor: its state lives with it.</summary>
    public sealed class Accumulator
    {
        public long Total { get; private set; }
        public int Count { get; private set; }

        public long Add(long x)
        {
            Count++;
            return Total += x;
        }
    }
}
