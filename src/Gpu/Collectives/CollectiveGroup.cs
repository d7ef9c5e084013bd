using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Ray.Gpu.Collectives;

/// <summary>
/// A named group of <see cref="WorldSize"/> ranks that run collectives together, like
/// ray.util.collective's groups. This implementation connects in-process ranks (threads or tasks)
/// through one unbounded FIFO channel per ordered rank pair, so sends never block and ring steps
/// cannot deadlock.
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

    private CollectiveGroup(string name, int worldSize, CollectiveGroupOptions options)
    {
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

    /// <summary>True once any rank failed or the group was disposed.</summary>
    public bool IsFailed => Volatile.Read(ref _failure) is not null;

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

    /// <summary>Finds a registered group by name.</summary>
    public static bool TryGet(string name, out CollectiveGroup? group) => Registry.TryGetValue(name, out group);

    /// <summary>The communicator of <paramref name="rank"/> (the same instance on every call).</summary>
    public Communicator GetCommunicator(int rank)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, WorldSize);
        return _communicators[rank];
    }

    /// <summary>Unregisters the group and fails any pending operation with <see cref="CollectiveErrorKind.GroupClosed"/>.</summary>
    public void Dispose()
    {
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
        if (Interlocked.CompareExchange(ref _failure, new Failure(kind, failedRank, detail), null) is null)
        {
            // Cancelling wakes every rank blocked in a receive, so they fail now rather than at their timeout.
            _failed.Cancel();
        }
    }

    /// <summary>The lowest rank that has not yet entered collective operation number <paramref name="sequence"/>.</summary>
    internal int? FirstRankBehind(long sequence)
    {
        foreach (Communicator communicator in _communicators)
        {
            if (communicator.EnteredOperations < sequence)
            {
                return communicator.Rank;
            }
        }

        return null;
    }

    internal void ThrowIfFailed(int rank)
    {
        if (Volatile.Read(ref _failure) is not null)
        {
            throw CreateException(rank);
        }
    }

    internal CollectiveException CreateException(int rank)
    {
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
