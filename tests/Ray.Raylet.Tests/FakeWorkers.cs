using System.Buffers;
using System.Collections.Concurrent;
using Ray.Cluster.Wire;
using Ray.Protocol;
using Ray.Raylet.Leases;
using Ray.Contract.Messages;
using Ray.Raylet.Node;
using Ray.Raylet.Workers;

namespace Ray.Raylet.Tests;

/// <summary>A launcher that starts nothing: it records each request and hands out a fake process the test controls.</summary>
internal sealed class RecordingLauncher : IWorkerLauncher
{
    /// <summary>Fake pids: far above what tests could confuse with a process they started.</summary>
    public const int PidBase = 3_000_000;

    public ConcurrentQueue<(WorkerLaunchRequest Request, FakeWorkerProcess Process)> Launched { get; } = new();

    /// <summary>When set, launches throw this many times.</summary>
    public int FailNext;

    public IWorkerProcess Launch(WorkerLaunchRequest request)
    {
        if (Interlocked.Decrement(ref FailNext) >= 0) throw new InvalidOperationException("launch failed on purpose");
        var p = new FakeWorkerProcess(PidBase + (int)request.WorkerId);
        Launched.Enqueue((request, p));
        return p;
    }

    public (WorkerLaunchRequest Request, FakeWorkerProcess Process)[] All => [.. Launched];

    public (WorkerLaunchRequest Request, FakeWorkerProcess Process) Of(uint workerId) => All.Single(l => l.Request.WorkerId == workerId);
}

/// <summary>A worker "process" that exits when killed or when the test says so.</summary>
internal sealed class FakeWorkerProcess(int pid) : IWorkerProcess
{
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Pid { get; } = pid;
    public Task Exited => _exited.Task;
    public bool Killed { get; private set; }

    public void Kill()
    {
        Killed = true;
        _exited.TrySetResult();
    }

    public void Exit() => _exited.TrySetResult();

    public void Dispose() { }
}

/// <summary>Builds lease managers over small nodes, and reads what they sent.</summary>
internal static class LeaseKit
{
    public const long U = ClusterProtocol.ResourceUnit;

    public static NodeResources NewResources(int cpus = 4, int gpus = 0) =>
        NodeResources.Create(cpus, gpus, new Dictionary<string, double> { ["accelerator"] = 2 }, 1L << 30, 1L << 24);

    /// <summary>A lease manager; idle workers are never reaped unless <paramref name="idleTimeout"/> says when.</summary>
    public static LeaseManager NewManager(NodeResources resources, IWorkerLauncher launcher, int prestart = 0, int? maxWorkers = null, TimeSpan? registerTimeout = null, TimeSpan? idleTimeout = null) =>
        new(resources, launcher, new LeaseManagerOptions
        {
            RayletAddress = "127.0.0.1:1",
            Token = "0123456789abcdef0123456789abcdef",
            NodeId = "feedfacefeedfacefeedfacefeedface",
            SessionDir = "/tmp/rlt-fake-session",
            LogsDirectory = "/tmp/rlt-fake-session/logs",
            PlasmaSocket = "/tmp/fake.sock",
            PrestartWorkers = prestart,
            MaxWorkers = maxWorkers,
            RegisterTimeout = registerTimeout ?? TimeSpan.FromMinutes(5),
            IdleWorkerTimeout = idleTimeout ?? TimeSpan.Zero,
        });

    public static ResourceAmount[] Cpu(double n) => [new("CPU", (long)(n * U))];

    public static JobRegistration Job(string name = "test job", params string[] codePaths) => new(Environment.ProcessId, name, codePaths);

    /// <summary>Registers the launched worker <paramref name="workerId"/> as its launcher's pid.</summary>
    public static WorkerRecord Register(LeaseManager m, RecordingLauncher launcher, uint workerId)
    {
        var (request, process) = launcher.Of(workerId);
        return m.RegisterWorker(new WorkerRegistration(request.JobId, workerId, process.Pid, $"/tmp/w{workerId}.sock"));
    }

    /// <summary>The grants sent so far, by request id.</summary>
    public static Dictionary<ulong, LeaseGrant> Grants(ListSink sink) => sink.Frames
        .Where(f => f.Kind == (ushort)ClusterMessageKind.RequestLease && f.Flags == FrameFlags.Reply)
        .ToDictionary(f => f.RequestId, f => ClusterCodec.DecodeLeaseGrant(new ReadOnlySequence<byte>(f.Payload)));

    /// <summary>The error replies sent so far, by request id.</summary>
    public static Dictionary<ulong, (ClusterErrorCode Code, string Message)> Errors(ListSink sink) => sink.Frames
        .Where(f => (f.Flags & FrameFlags.Error) != 0)
        .ToDictionary(f => f.RequestId, f => ClusterCodec.DecodeError(new ReadOnlySequence<byte>(f.Payload), f.Kind));
}
