using System.Collections.Concurrent;
using System.Threading.Channels;
using Ray.Gpu.Collectives.SharedMemory;
using Ray.Gpu.Collectives.Tcp;

namespace Ray.Gpu.Collectives;

/// <summary>
/// A named group of <see cref="WorldSize"/> ranks that run collectives together, like
/// ray.util.collective's groups. Two transports: <see cref="Create"/> connects in-process ranks
/// (threads or tasks) through one unbounded FIFO channel per ordered rank pair, so sends never block
/// and ring steps cannot deadlock; <see cref="JoinSharedMemory"/> connects ranks in separate
/// processes on one node through rings in a shared-memory segment (see
/// <c>SharedMemory/ShmSegment</c>), one rank per process; <see cref="JoinTcp"/> connects ranks on
/// different nodes through framed TCP connections, one per pair of ranks (see <c>Tcp/TcpTransport</c>).
/// Lifecycle: 1. <see cref="Create"/> registers the group by name; 2. each rank takes its
/// <see cref="GetCommunicator"/> and calls the same operations in the same order; 3. a failure on any
/// rank (abort, timeout, mismatch) poisons the group and cancels every pending wait;
/// 4. <see cref="Dispose"/> unregisters it and fails whatever is still pending.
/// </summary>
public sealed class CollectiveGroup : IDisposable
{
    private static readonly ConcurrentDictionary<string, CollectiveGroup> Registry = new(StringComparer.Ordinal);

    private readonly Channel<CollectiveMessage>[] _collective;
    private readonly Channel<CollectiveMessage>[] _pointToPoint;
    private readonly Communicator[] _communicators;
    private readonly CancellationTokenSource _failed = new();
    private Failure? _failure;

    private CollectiveGroup(string name, int worldSize, int localRank, CollectiveGroupOptions options, ShmSegment segment)
    {
        Name = name;
        WorldSize = worldSize;
        Options = options;
        LocalRank = localRank;
        _collective = [];
        _pointToPoint = [];
        _communicators = new Communicator[worldSize];
        _communicators[localRank] = new Communicator(this, localRank);
        Shm = new ShmTransport(this, segment, localRank, (long)(options.SharedMemorySpin.TotalSeconds * System.Diagnostics.Stopwatch.Frequency), options.SharedMemorySegmentBytes);
    }

    private CollectiveGroup(string name, int worldSize, int localRank, CollectiveGroupOptions options, System.Net.Sockets.Socket?[] sockets)
    {
        Name = name;
        WorldSize = worldSize;
        Options = options;
        LocalRank = localRank;
        _collective = CreateChannels(worldSize);
        _pointToPoint = CreateChannels(worldSize);
        _communicators = new Communicator[worldSize];
        _communicators[localRank] = new Communicator(this, localRank);
        Tcp = new TcpTransport(this, localRank, sockets, options);
        Tcp.Start();
    }

    private CollectiveGroup(string name, int worldSize, CollectiveGroupOptions options)
    {
        LocalRank = -1;
        Name = name;
        WorldSize = worldSize;
        Options = options;
        _collective = CreateChannels(worldSize);
        _pointToPoint = CreateChannels(worldSize);
        _communicators = new Communicator[worldSize];
        for (int rank = 0; rank < worldSize; rank++)
        {
            _communicators[rank] = new Communicator(this, rank);
        }
    }

    /// <summary>The group's unique name.</summary>
    public string Name { get; }

    /// <summary>Number of ranks.</summary>
    public int WorldSize { get; }

    /// <summary>Timeouts and algorithm thresholds.</summary>
    public CollectiveGroupOptions Options { get; }

    /// <summary>
    /// The rank this process holds in a shared-memory group (<see cref="JoinSharedMemory"/>);
    /// -1 for an in-process group, which holds every rank.
    /// </summary>
    public int LocalRank { get; }

    /// <summary>True once any rank failed or the group was disposed.</summary>
    public bool IsFailed => Volatile.Read(ref _failure) is not null || (Shm?.Segment.IsFailed ?? false);

    /// <summary>The shared-memory transport, for a group joined across processes; null in-process.</summary>
    internal ShmTransport? Shm { get; }

    /// <summary>The TCP transport, for a group joined across nodes; null otherwise.</summary>
    internal TcpTransport? Tcp { get; }

    internal CancellationToken FailedToken => _failed.Token;

    /// <summary>Creates and registers a group named <paramref name="name"/> of <paramref name="worldSize"/> ranks.</summary>
    /// <exception cref="InvalidOperationException">A group of that name already exists.</exception>
    public static CollectiveGroup Create(string name, int worldSize, CollectiveGroupOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(worldSize);
        var group = new CollectiveGroup(name, worldSize, options ?? new CollectiveGroupOptions());
        if (!Registry.TryAdd(name, group))
        {
            throw new InvalidOperationException($"Collective group '{name}' already exists.");
        }

        return group;
    }

    /// <summary>
    /// Joins, from this process, rank <paramref name="rank"/> of the group <paramref name="name"/>
    /// whose <paramref name="worldSize"/> ranks are processes on this node, and returns once every rank
    /// has joined (or throws <see cref="CollectiveException"/> with <see cref="CollectiveErrorKind.Timeout"/>
    /// after <see cref="CollectiveGroupOptions.Timeout"/>). Rank 0 creates the segment in
    /// <see cref="CollectiveGroupOptions.SharedMemoryDirectory"/>; the others open it; every rank must pass
    /// the same world size and ring size (else <see cref="CollectiveErrorKind.Mismatch"/>). Data moves
    /// through shared memory: a send copies once into the peer's ring, a receive reduces or copies
    /// straight out of it. Waits run on the calling thread (spin, then futex), so the returned
    /// communicator's operations complete synchronously. A rank whose process dies fails every
    /// waiting rank with <see cref="CollectiveErrorKind.RankDied"/> within tens of milliseconds.
    /// </summary>
    /// <returns>The group, holding only this rank's communicator (<see cref="GetCommunicator"/> of <see cref="LocalRank"/>).</returns>
    public static CollectiveGroup JoinSharedMemory(string name, int worldSize, int rank, CollectiveGroupOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(worldSize);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        options ??= new CollectiveGroupOptions();
        long ring = options.SharedMemoryRingBytes;
        if (ring < 64 * 1024 || (ring & (ring - 1)) != 0 || ring < options.RingThresholdBytes + 128)
        {
            throw new ArgumentException(
                $"SharedMemoryRingBytes ({ring}) must be a power of two, at least 64 KiB and at least RingThresholdBytes ({options.RingThresholdBytes}) + 128.",
                nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(options.SharedMemorySegmentBytes, 64, nameof(options));
        ShmSegment segment = ShmSegment.Join(name, options.SharedMemoryDirectory, worldSize, rank, ring, options.Timeout);
        return new CollectiveGroup(name, worldSize, rank, options, segment);
    }

    /// <summary>
    /// Joins rank <paramref name="rank"/> of the group <paramref name="name"/> whose ranks live in other
    /// processes, over <see cref="CollectiveGroupOptions.Transport"/>: <see cref="JoinSharedMemory"/>
    /// or <see cref="JoinTcp"/> (with <see cref="CollectiveGroupOptions.TcpRendezvous"/>).
    /// </summary>
    public static CollectiveGroup Join(string name, int worldSize, int rank, CollectiveGroupOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Transport switch
        {
            CollectiveTransport.SharedMemory => JoinSharedMemory(name, worldSize, rank, options),
            CollectiveTransport.Tcp => JoinTcp(name, worldSize, rank, options.TcpRendezvous ?? throw new ArgumentException("A TCP group needs CollectiveGroupOptions.TcpRendezvous.", nameof(options)), options),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Transport, "Unknown transport."),
        };
    }

    /// <summary>
    /// Joins, from this process, rank <paramref name="rank"/> of the group <paramref name="name"/> whose
    /// ranks may be on other nodes, over TCP, and returns once this rank is connected to every other
    /// rank (or throws <see cref="CollectiveException"/>: <see cref="CollectiveErrorKind.Timeout"/> after
    /// <see cref="CollectiveGroupOptions.Timeout"/>, <see cref="CollectiveErrorKind.Refused"/> when a peer
    /// refuses the handshake: another token, group name, world size or frame limit). Every pair of
    /// ranks shares one connection carrying the project's 16-byte framing. The communicator's
    /// operations are the same as in-process; a peer's connection closing without a goodbye (its process
    /// was killed) fails every rank with <see cref="CollectiveErrorKind.RankDied"/>, a malformed frame with
    /// <see cref="CollectiveErrorKind.ProtocolError"/>.
    /// </summary>
    /// <returns>The group, holding only this rank's communicator.</returns>
    public static CollectiveGroup JoinTcp(string name, int worldSize, int rank, TcpRendezvous rendezvous, CollectiveGroupOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(rendezvous);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(worldSize);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        options ??= new CollectiveGroupOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TcpMaxFrameBytes, 64 * 1024, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.TcpMaxFrameBytes, 1 << 30, nameof(options));
        System.Net.Sockets.Socket?[] sockets = TcpTransport.Rendezvous(name, worldSize, rank, rendezvous, options);
        return new CollectiveGroup(name, worldSize, rank, options, sockets);
    }

    /// <summary>Finds a registered group by name.</summary>
    public static bool TryGet(string name, out CollectiveGroup? group) => Registry.TryGetValue(name, out group);

    /// <summary>The communicator of <paramref name="rank"/> (the same instance on every call).</summary>
    public Communicator GetCommunicator(int rank)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, WorldSize);
        return _communicators[rank] ?? throw new InvalidOperationException(
            $"Rank {rank} of shared-memory group '{Name}' lives in another process; this process holds rank {LocalRank}.");
    }

    /// <summary>Unregisters the group and fails any pending operation with <see cref="CollectiveErrorKind.GroupClosed"/>.</summary>
    public void Dispose()
    {
        if (Shm is { } shm)
        {
            // Leaving does not poison the shared group: peers may still read what this rank sent.
            // A peer that waits on this rank afterwards fails with GroupClosed naming it. The mapping
            // stays until the process exits (a thread of this process may still be inside an operation).
            Fail(CollectiveErrorKind.GroupClosed, -1, "the group was disposed");
            Volatile.Write(ref shm.Segment.SlotState(LocalRank), ShmSegment.SlotLeft);
            return;
        }

        if (Tcp is { } tcp)
        {
            Fail(CollectiveErrorKind.GroupClosed, -1, "the group was disposed");
            tcp.Dispose();
            foreach (Channel<CollectiveMessage> channel in _collective.Concat(_pointToPoint))
            {
                channel.Writer.TryComplete();
                while (channel.Reader.TryRead(out CollectiveMessage message))
                {
                    if (message.Payload is byte[] bytes)
                    {
                        System.Buffers.ArrayPool<byte>.Shared.Return(bytes);
                    }
                }
            }

            return;
        }

        Registry.TryRemove(new KeyValuePair<string, CollectiveGroup>(Name, this));
        Fail(CollectiveErrorKind.GroupClosed, -1, "the group was disposed");
        foreach (Channel<CollectiveMessage> channel in _collective.Concat(_pointToPoint))
        {
            channel.Writer.TryComplete();
        }
    }

    internal ChannelWriter<CollectiveMessage> Writer(int from, int to, bool pointToPoint) =>
        (pointToPoint ? _pointToPoint : _collective)[(from * WorldSize) + to].Writer;

    internal ChannelReader<CollectiveMessage> Reader(int from, int to, bool pointToPoint) =>
        (pointToPoint ? _pointToPoint : _collective)[(from * WorldSize) + to].Reader;

    /// <summary>Poisons the group; the first failure wins and is what every rank reports.</summary>
    internal void Fail(CollectiveErrorKind kind, int failedRank, string detail)
    {
        if (Shm is { } shm && kind != CollectiveErrorKind.GroupClosed)
        {
            shm.Segment.Fail(kind, failedRank, detail); // every process sees it; the first failure wins
            return;
        }

        if (Interlocked.CompareExchange(ref _failure, new Failure(kind, failedRank, detail), null) is null)
        {
            // Cancelling wakes every rank blocked in a receive, so they fail now rather than at their timeout.
            _failed.Cancel();
            if (kind != CollectiveErrorKind.GroupClosed)
            {
                Tcp?.BroadcastFailure(kind, failedRank, detail); // every rank reports this first failure
            }
        }
    }

    /// <summary>The lowest rank that has not yet entered collective operation number <paramref name="sequence"/>.</summary>
    internal int? FirstRankBehind(long sequence)
    {
        if (Shm is { } shm)
        {
            for (int rank = 0; rank < WorldSize; rank++)
            {
                if (Volatile.Read(ref shm.Segment.SlotEnteredOps(rank)) < sequence)
                {
                    return rank;
                }
            }

            return null;
        }

        foreach (Communicator? communicator in _communicators)
        {
            if (communicator is not null && communicator.EnteredOperations < sequence)
            {
                return communicator.Rank;
            }
        }

        return null;
    }

    /// <summary>A TCP peer left on purpose: nothing more will come from it; waits on it fail with <see cref="CollectiveErrorKind.GroupClosed"/>.</summary>
    internal void PeerLeft(int rank)
    {
        for (int to = 0; to < WorldSize; to++)
        {
            Writer(rank, to, pointToPoint: false).TryComplete();
            Writer(rank, to, pointToPoint: true).TryComplete();
        }
    }

    internal void ThrowIfFailed(int rank)
    {
        if (IsFailed)
        {
            throw CreateException(rank);
        }
    }

    internal CollectiveException CreateException(int rank)
    {
        if (Shm?.Segment.ReadFailure() is { } shared)
        {
            return new CollectiveException(shared.Kind, Name, rank, shared.FailedRank, shared.Detail);
        }

        Failure failure = Volatile.Read(ref _failure) ?? new Failure(CollectiveErrorKind.GroupClosed, -1, "unknown");
        return new CollectiveException(failure.Kind, Name, rank, failure.FailedRank, failure.Detail);
    }

    private static Channel<CollectiveMessage>[] CreateChannels(int worldSize)
    {
        var channels = new Channel<CollectiveMessage>[worldSize * worldSize];
        for (int i = 0; i < channels.Length; i++)
        {
            channels[i] = Channel.CreateUnbounded<CollectiveMessage>(
                new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        }

        return channels;
    }

    private sealed record Failure(CollectiveErrorKind Kind, int FailedRank, string Detail);
}
