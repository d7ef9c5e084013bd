using System.Diagnostics;
using System.Globalization;
using Ray.Gpu.Bench;

// make bench-gpu: Ray.Gpu.Bench [--max-bytes N] [--kernel-elements N] [--worlds 2,4] [--mpi-peer DIR] [--transports shm,tcp] [--no-kernels]
// --perf: only the make-perf figures for 2 ranks (RESULT name value lines, read by bench/Ray.Perf).
// --rank <[tcp-]mode> <dir> <group> <world> <rank> <maxBytes> [rank0Endpoint]: one rank process (started by this program).
if (args.Length >= 7 && args[0] == "--rank")
{
    return await RankMain.RunAsync(args[1], args[2], args[3], Int(args[4]), Int(args[5]), long.Parse(args[6], CultureInfo.InvariantCulture), args.Length > 7 ? args[7] : null);
}

long maxBytes = 256L << 20;
int kernelElements = 8 << 20;
int[] worlds = [2, 4];
string mpiPeer = "../shared/peers/mpi-allreduce";
bool perf = false;
bool kernels = true;
string[] transports = ["shm", "tcp"];
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--max-bytes": maxBytes = long.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--kernel-elements": kernelElements = Int(args[++i]); break;
        case "--worlds": worlds = args[++i].Split(',').Select(Int).ToArray(); break;
        case "--mpi-peer": mpiPeer = args[++i]; break;
        case "--perf": perf = true; break;
        case "--transports": transports = args[++i].Split(','); break;
        case "--no-kernels": kernels = false; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

Console.WriteLine($"# ray gpu bench: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
if (perf)
{
    return Perf.Run(mpiPeer);
}

if (kernels)
{
    Console.WriteLine("## reduction kernels (bytes read + written per second; the copy reads and writes each byte once)");
    KernelBench.Run(kernelElements);

    Console.WriteLine();
    Console.WriteLine("## host memcpy floor (one thread, Buffer.MemoryCopy, warm)");
    foreach (long bytes in new[] { 1L << 20, 256L << 20 })
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"floor_memcpy_gbps size_bytes={bytes} {Perf.Memcpy(bytes):0.00} GB/s"));
    }
}

foreach (int world in worlds)
{
    if (transports.Contains("shm"))
    {
        Console.WriteLine();
        Console.WriteLine($"## allreduce_busbw_gbps: float sum, out of place, {world} rank processes, shared memory (nccl-tests form)");
        Console.WriteLine("#        size      count   type   time(us)  algbw(GB/s)  busbw(GB/s)");
        foreach (string line in Launcher.RunRanks("sweep", world, maxBytes))
        {
            Console.WriteLine(Perf.Row(line));
        }

        List<string>? mpi = Launcher.RunMpi(mpiPeer, world);
        Console.WriteLine(mpi is null ? "# MPI peer: mpirun/mpicc not installed (apt-get install -y openmpi-bin libopenmpi-dev), skipped" : $"## MPI_Allreduce peer, {world} ranks, same run");
        foreach (string line in mpi ?? [])
        {
            Console.WriteLine(Perf.Row(line));
        }
    }

    if (transports.Contains("tcp"))
    {
        Console.WriteLine();
        Console.WriteLine($"## allreduce_busbw_gbps: the same, {world} rank processes over TCP loopback (the transport for ranks on other nodes)");
        Console.WriteLine("#        size      count   type   time(us)  algbw(GB/s)  busbw(GB/s)");
        List<string> ours = Launcher.RunRanks("tcp-sweep", world, maxBytes);
        foreach (string line in ours)
        {
            Console.WriteLine(Perf.Row(line));
        }

        List<string>? mpiTcp = Launcher.RunMpi(mpiPeer, world, tcp: true);
        Console.WriteLine(mpiTcp is null ? "# MPI TCP peer: mpirun/mpicc not installed (apt-get install -y openmpi-bin libopenmpi-dev), skipped" : $"## MPI_Allreduce peer over TCP, {world} ranks, same run");
        foreach (string line in mpiTcp ?? [])
        {
            Console.WriteLine(Perf.Row(line));
        }

        if (mpiTcp is not null)
        {
            Console.WriteLine(Perf.TcpVersusMpi(world, ours, mpiTcp));
        }
    }
}

return 0;

static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);
