using System.Globalization;
using System.Net;
using Ray.Gpu.Collectives;
using Ray.Gpu.Collectives.Tcp;
using Ray.Gpu.TestRank;

// Usage: Ray.Gpu.TestRank <scenario> <directory> <group> <worldSize> <rank> [timeoutSeconds] [rank0Endpoint]
// Scenarios: matrix (every operation, checked against a reference; 0 = all passed),
// loop (all-reduce until the group fails; prints READY once joined and CAUGHT <kind> <failedRank>),
// mismatch (rank 1 passes a different size; prints CAUGHT <kind> <failedRank>).
// Prefixed with "tcp-", the ranks join over TCP through rank 0 at rank0Endpoint (token "test-token")
// instead of shared memory.
if (args.Length < 5)
{
    Console.Error.WriteLine("usage: Ray.Gpu.TestRank <[tcp-]matrix|loop|mismatch> <directory> <group> <worldSize> <rank> [timeoutSeconds] [rank0Endpoint]");
    return 2;
}

string scenario = args[0], directory = args[1], group = args[2];
int world = int.Parse(args[3], CultureInfo.InvariantCulture), rank = int.Parse(args[4], CultureInfo.InvariantCulture);
var timeout = TimeSpan.FromSeconds(args.Length > 5 ? double.Parse(args[5], CultureInfo.InvariantCulture) : 30);
bool tcp = scenario.StartsWith("tcp-", StringComparison.Ordinal);
scenario = tcp ? scenario[4..] : scenario;
var options = new CollectiveGroupOptions { SharedMemoryDirectory = directory, Timeout = timeout };
if (tcp)
{
    options = options with
    {
        Transport = CollectiveTransport.Tcp,
        TcpRendezvous = TcpRendezvous.FromRankZero(IPEndPoint.Parse(args[6]), "test-token"),
        TcpMaxFrameBytes = 256 * 1024, // large messages span several frames
    };
}

switch (scenario)
{
    case "matrix":
        int failures = 0;
        using (var g = CollectiveGroup.Join(group, world, rank, options))
        {
            failures += await Matrix.RunAsync(g.GetCommunicator(rank));
        }

        // The same matrix with every message on the ring path (ring algorithms even for 1 element).
        using (var g = CollectiveGroup.Join(group + "-ring", world, rank, options with { RingThresholdBytes = 0 }))
        {
            failures += await Matrix.RunAsync(g.GetCommunicator(rank));
        }

        Console.WriteLine(failures == 0 ? "OK" : $"FAILED {failures}");
        return failures == 0 ? 0 : 1;

    case "loop":
    case "mismatch":
        using (var g = CollectiveGroup.Join(group, world, rank, options))
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
