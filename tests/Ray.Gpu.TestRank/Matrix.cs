using System.Numerics;
using Ray.Gpu.Collectives;
using Ray.Gpu.Kernels;

namespace Ray.Gpu.TestRank;

/// <summary>
/// Every operation over float and long, sizes 1, 7 and 1000003, each checked against a plain
/// reference computed from every rank's (deterministic) input. Inputs are 1..3, so sums and
/// products are exact in float and the reference does not depend on the reduction order.
/// </summary>
internal static class Matrix
{
    private static readonly int[] Sizes = [1, 7, 1_000_003];

    public static async Task<int> RunAsync(Communicator c)
    {
        int failures = 0;
        foreach (int n in Sizes)
        {
            failures += await RunAsync<float>(c, n);
            failures += await RunAsync<long>(c, n);
        }

        return failures;
    }

    private static T Input<T>(int rank, int i)
        where T : INumber<T> => T.CreateTruncating(1 + ((i + (3 * rank)) % 3) + (rank % 2));

    private static T Reference<T>(ReduceOp op, int world, int i)
        where T : INumber<T>
    {
        T acc = Input<T>(0, i);
        for (int r = 1; r < world; r++)
        {
            T v = Input<T>(r, i);
            acc = op switch
            {
                ReduceOp.Sum => acc + v,
                ReduceOp.Product => acc * v,
                ReduceOp.Min => T.Min(acc, v),
                _ => T.Max(acc, v),
            };
        }

        return acc;
    }

    private static T[] Inputs<T>(int rank, int n)
        where T : INumber<T>
    {
        var a = new T[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = Input<T>(rank, i);
        }

        return a;
    }

    private static async Task<int> RunAsync<T>(Communicator c, int n)
        where T : unmanaged, INumber<T>
    {
        int w = c.WorldSize, me = c.Rank, failures = 0;
        string tag = $"{typeof(T).Name} n={n} world={w} rank={me}";
        T[] mine = Inputs<T>(me, n);

        void Check(string what, T[] actual, Func<int, T> expected, int offset = 0, int count = -1)
        {
            count = count < 0 ? actual.Length : count;
            for (int i = 0; i < count; i++)
            {
                if (actual[offset + i] != expected(i))
                {
                    Console.WriteLine($"FAIL {what} {tag}: [{i}] = {actual[offset + i]}, expected {expected(i)}");
                    failures++;
                    return;
                }
            }
        }

        foreach (ReduceOp op in Enum.GetValues<ReduceOp>())
        {
            var result = new T[n];
            await c.AllReduceAsync<T>(mine, result, op);
            Check($"AllReduce({op})", result, i => Reference<T>(op, w, i));
        }

        T[] inPlace = Inputs<T>(me, n);
        await c.AllReduceAsync<T>(inPlace.AsMemory(), ReduceOp.Sum);
        Check("AllReduce(in place)", inPlace, i => Reference<T>(ReduceOp.Sum, w, i));

        int root = w - 1;
        var reduced = new T[me == root ? n : 0];
        await c.ReduceAsync<T>(mine, reduced, root, ReduceOp.Max);
        Check("Reduce(Max)", reduced, i => Reference<T>(ReduceOp.Max, w, i));

        int source = 1 % w;
        T[] broadcast = me == source ? Inputs<T>(source, n) : new T[n];
        await c.BroadcastAsync<T>(broadcast, source);
        Check("Broadcast", broadcast, i => Input<T>(source, i));

        var gathered = new T[n * w];
        await c.AllGatherAsync<T>(mine, gathered);
        for (int r = 0; r < w; r++)
        {
            int from = r;
            Check($"AllGather(slot {r})", gathered, i => Input<T>(from, i), r * n, n);
        }

        // ReduceScatter: every rank contributes W slots of n (slot s of rank r = inputs of rank r shifted by s).
        var scatterInput = new T[n * w];
        for (int s = 0; s < w; s++)
        {
            Inputs<T>(me, n).CopyTo(scatterInput, s * n);
        }

        var scattered = new T[n];
        await c.ReduceScatterAsync<T>(scatterInput, scattered, ReduceOp.Sum);
        Check("ReduceScatter", scattered, i => Reference<T>(ReduceOp.Sum, w, i));

        await c.BarrierAsync();

        if (w > 1)
        {
            // Point to point around the ring; odd ranks receive first so messages larger than a ring
            // (which block until received) cannot form a cycle of blocked senders.
            int next = (me + 1) % w, previous = (me + w - 1) % w;
            var received = new T[n];
            if (me % 2 == 1)
            {
                await c.RecvAsync<T>(received, previous);
                await c.SendAsync<T>(mine, next);
            }
            else
            {
                await c.SendAsync<T>(mine, next);
                await c.RecvAsync<T>(received, previous);
            }

            Check("Send/Recv", received, i => Input<T>(previous, i));
        }

        return failures;
    }
}
