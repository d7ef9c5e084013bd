namespace Ray.Gpu.Collectives;

/// <summary>Configuration of a <see cref="CollectiveGroup"/>.</summary>
public sealed record CollectiveGroupOptions
{
    /// <summary>How long one operation may wait for a peer before the whole group fails.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Messages of at least this many bytes use ring algorithms (bandwidth-optimal: each rank moves
    /// about 2(n-1)/n of the buffer); smaller ones go directly to every peer (fewest hops, lowest latency).
    /// </summary>
    public long RingThresholdBytes { get; init; } = 256 * 1024;

    /// <summary>
    /// Shared-memory groups (<see cref="CollectiveGroup.JoinSharedMemory"/>): the directory holding the
    /// rendezvous segment (a tmpfs such as /dev/shm, or a session directory). The file is named after
    /// the group and removed as soon as every rank has mapped it.
    /// </summary>
    public string SharedMemoryDirectory { get; init; } = "/dev/shm";

    /// <summary>
    /// Shared-memory groups: bytes of each ring (one per ordered rank pair, plus one per pair for
    /// point-to-point); a power of two of at least 64 KiB and above <see cref="RingThresholdBytes"/>
    /// plus 128 (a direct-path message always fits, so direct sends never wait on a peer's receive).
    /// </summary>
    public long SharedMemoryRingBytes { get; init; } = 1 << 20;

    /// <summary>Shared-memory groups: bytes a send publishes (or a receive consumes) at a time, so the peer starts early.</summary>
    public long SharedMemorySegmentBytes { get; init; } = 64 * 1024;

    /// <summary>
    /// Shared-memory groups: how long a waiting rank spins (or yields, when ranks outnumber cores)
    /// before it parks on a futex. Waking a parked vCPU costs 40-100 us on these VMs, and a woken rank
    /// is then late for its peer, which parks in turn: with a short spin two ranks fall into parking
    /// on every ring step (1 MiB all-reduce 8x slower). The spin must outlast a peer's wake-up.
    /// </summary>
    public TimeSpan SharedMemorySpin { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// Which transport <see cref="CollectiveGroup.Join"/> uses for ranks in separate processes:
    /// shared memory on one node (the default), or TCP (ranks on different nodes; needs <see cref="TcpRendezvous"/>).
    /// </summary>
    public CollectiveTransport Transport { get; init; } = CollectiveTransport.SharedMemory;

    /// <summary>TCP groups: how the ranks find each other (every rank's endpoint, or rank 0's) and the group token.</summary>
    public Tcp.TcpRendezvous? TcpRendezvous { get; init; }

    /// <summary>
    /// TCP groups: the largest frame payload; longer messages are split into frames of at most this
    /// size, and a peer announcing a frame above it is a protocol error (its connection is closed).
    /// Every rank must use the same value (checked in the handshake). At least 64 KiB.
    /// </summary>
    public int TcpMaxFrameBytes { get; init; } = 4 << 20;

    /// <summary>
    /// TCP groups: how long a waiting operation pumps its sockets on its own thread (non-blocking
    /// reads, yielding the core between tries after the first few) before it hands the reading to the
    /// transport's progress thread and waits asynchronously. A message that arrives within the spin
    /// costs no thread hop and no wake-up (a 1 KiB all-reduce on loopback drops from ~100 us to ~10 us);
    /// zero makes every wait asynchronous.
    /// </summary>
    public TimeSpan TcpSpin { get; init; } = TimeSpan.FromMilliseconds(1);
}
