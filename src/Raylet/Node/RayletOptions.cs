using Ray.Raylet.Server;

namespace Ray.Raylet.Node;

/// <summary>Configuration of one raylet (what <c>ray start</c> passes to the daemon).</summary>
public sealed record RayletOptions
{
    /// <summary>The session directory (address file, logs, sockets, spill files).</summary>
    public required string SessionDir { get; init; }

    /// <summary>The address to bind; loopback unless told otherwise.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The TCP port; 0 picks a free one (the address file tells which).</summary>
    public int Port { get; init; }

    /// <summary>True for the head node (the only kind today).</summary>
    public bool IsHead { get; init; } = true;

    /// <summary>The head raylet's address (host:port) to join; with it the node is not the head and uses <see cref="ClusterToken"/>.</summary>
    public string? HeadAddress { get; init; }

    /// <summary>The cluster token to use (a joining node takes the head's); null: a new random one (a head).</summary>
    public string? ClusterToken { get; init; }

    /// <summary>How long the head waits for a joined node's heartbeat before it marks the node dead (Ray's default is a few seconds).</summary>
    public TimeSpan NodeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>CPUs to offer; default the machine's processor count.</summary>
    public int? NumCpus { get; init; }

    /// <summary>GPUs to offer; default 0.</summary>
    public int? NumGpus { get; init; }

    /// <summary>Custom resources.</summary>
    public IReadOnlyDictionary<string, double>? Resources { get; init; }

    /// <summary>
    /// Object store capacity in bytes; default 30 % of the machine's memory, capped at 90 % of
    /// the free space of the store's directory (/dev/shm), as Ray sizes it.
    /// </summary>
    public long? ObjectStoreMemoryBytes { get; init; }

    /// <summary>Directory of the store's shared-memory file; default /dev/shm.</summary>
    public string ObjectStoreDirectory { get; init; } = "/dev/shm";

    /// <summary>Limits of the socket server.</summary>
    public RayletServerOptions Server { get; init; } = new();

    /// <summary>Limits of the object store's socket.</summary>
    public Ray.Plasma.Server.PlasmaServerOptions StoreServer { get; init; } = new();

    /// <summary>Workers started for each job when it registers; default the node's CPU count.</summary>
    public int? PrestartWorkers { get; init; }

    /// <summary>The most worker processes starting or alive (actor workers not counted); default max(CPUs, 1) * 4.</summary>
    public int? MaxWorkers { get; init; }

    /// <summary>
    /// How long a worker beyond its job's prestart count may stay idle before it is killed
    /// (Ray's idle_worker_killing_time_threshold_ms); default 1 s, zero: never.
    /// </summary>
    public TimeSpan IdleWorkerTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Starts worker processes; default the real one (`ray worker`). Tests plug in fakes.</summary>
    internal Workers.IWorkerLauncher? WorkerLauncher { get; init; }

    /// <summary>The smallest object store accepted.</summary>
    public const long MinObjectStoreBytes = 1 << 20;
}
