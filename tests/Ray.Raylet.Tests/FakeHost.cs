using System.Collections.Concurrent;
using Ray.Raylet.Leases;
using Ray.Contract.Messages;
using Ray.Raylet.Node;
using Ray.Raylet.Server;

namespace Ray.Raylet.Tests;

/// <summary>
/// A raylet host with fixed answers, recording shutdown requests; its lease manager is real,
/// over a 4-CPU node with a recording launcher (no processes).
/// </summary>
internal sealed class FakeHost(string token = "0123456789abcdef0123456789abcdef") : IRayletHost
{
    public string ClusterToken { get; } = token;

    public RecordingLauncher Launcher { get; } = new();

    public LeaseManager Leases => _leases ??= LeaseKit.NewManager(LeaseKit.NewResources(), Launcher, prestart: 1);

    private LeaseManager? _leases;

    public HelloReply HelloReply { get; } = new(ClusterProtocol.Version, "feedfacefeedfacefeedfacefeedface", "/tmp/fake.sock", "/dev/shm/fake");

    public ConcurrentQueue<string> ShutdownReasons { get; } = new();

    public Func<RayletStatusReport>? StatusOverride { get; set; }

    public RayletStatusReport GetStatus() => StatusOverride?.Invoke() ?? Report;

    public void RequestShutdown(string reason) => ShutdownReasons.Enqueue(reason);

    public static RayletStatusReport Report { get; } = new()
    {
        SessionDir = "/tmp/ray/session_fake",
        Uptime = TimeSpan.FromSeconds(42.5),
        Nodes =
        [
            new NodeStatus("feedfacefeedfacefeedfacefeedface", "127.0.0.1:6379", IsHead: true, Alive: true,
                [new ResourceUsage("CPU", 4, 1.5), new ResourceUsage("GPU", 0, 0), new ResourceUsage("accelerator", 2, 0.0001)]),
            new NodeStatus("00000000000000000000000000000001", "10.0.0.2:6380", IsHead: false, Alive: false, []),
        ],
        Workers = 3,
        IdleWorkers = 1,
        QueuedTasks = 17,
        Clients = 2,
        Objects = 5,
        ObjectStoreUsedBytes = 4096,
        ObjectStoreCapacityBytes = 1 << 20,
        SpilledBytes = 123,
    };
}

/// <summary>Collects what a handler or lease manager sends (from any thread).</summary>
internal sealed class ListSink : IFrameSink
{
    private readonly List<(ushort Kind, Ray.Protocol.FrameFlags Flags, ulong RequestId, byte[] Payload)> _frames = [];

    /// <summary>A copy of the frames sent so far.</summary>
    public List<(ushort Kind, Ray.Protocol.FrameFlags Flags, ulong RequestId, byte[] Payload)> Frames
    {
        get { lock (_frames) return [.. _frames]; }
    }

    public bool Send(ushort kind, Ray.Protocol.FrameFlags flags, ulong requestId, ReadOnlySpan<byte> payload)
    {
        lock (_frames) _frames.Add((kind, flags, requestId, payload.ToArray()));
        return true;
    }
}
