using System.Globalization;
using Ray.Gpu.Collectives;
using Ray.Gpu.TestRank;

// Usage: Ray.Gpu.TestRank <scenario> <directory> <group> <worldSize> <rank> [timeoutSeconds]
// Scenarios: matrix (every operation, checked against a reference; 0 = all passed),
// loop (all-reduce until the group fails; prints READY once joined and CAUGHT <kind> <failedRank>),
// mismatch (rank 1 passes a different size; prints CAUGHT <kind> <failedRank>).
if (args.Length < 5)
{
    Console.Error.WriteLine("usage: Ray.Gpu.TestRank <matrix|loop|mismatch> <directory> <group> <worldSize> <rank> [timeoutSeconds]");
    return 2;
}

string scenario = args[0], directory = args[1], group = args[2];
int world = int.Parse(args[3], CultureInfo.InvariantCulture), rank = int.Parse(args[4], CultureInfo.InvariantCulture);
var timeout = TimeSpan.FromSeconds(args.Length > 5 ? double.Parse(args[5], CultureInfo.InvariantCulture) : 30);
var options = new CollectiveGroupOptions { SharedMemoryDirectory = directory, Timeout = timeout };

switch (scenario)
{
    case "matrix":
        int failures = 0;
        using (var g = CollectiveGroup.JoinSharedMemory(group, world, rank, options))
        {
            failures += await Matrix.RunAsync(g.GetCommunicator(rank));
        }

        // The same matrix with every message on the ring path (ring algorithms even for 1 element).
        using (var g = CollectiveGroup.JoinSharedMemory(group + "-ring", world, rank, options with { RingThresholdBytes = 0 }))
        {
            failures += await Matrix.RunAsync(g.GetCommunicator(rank));
        }

        Console.WriteLine(failures == 0 ? "OK" : $"FAILED {failures}");
        return failures == 0 ? 0 : 1;

    case "loop":
    case "mismatch":
        using (var g = CollectiveGroup.JoinSharedMemory(group, world, rank, options))
        {
            Communicator c = g.GetCommunicator(rank);
            var data = new float[scenario == "mismatch" && rank == 1 ? 1001 : 1000];
            Console.WriteLine("READY");
            File.WriteAllText(Path.Combine(directory, $"ready.{rank}"), "joined");
            try
            {
                while (true)
                {
                    await c.AllReduceAsync(data.AsMemory());
                    if (scenario == "mismatch")
                    {
                        Console.WriteLine("NO ERROR");
                        return 1;
                    }
                }
            }
            catch (CollectiveException e)
            {
                Console.WriteLine($"CAUGHT {e.Kind} {e.FailedRank}");
                Console.WriteLine(e.Message);
                return 0;
            }
        }

    default:
        Console.Error.WriteLine($"unknown scenario {scenario}");
        return 2;
}
