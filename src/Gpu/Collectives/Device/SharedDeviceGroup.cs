using ILGPU;
using ILGPU.Runtime;
using Ray.Gpu.Devices;
using Ray.Gpu.Kernels;

namespace Ray.Gpu.Collectives.Device;

/// <summary>
/// In-process ranks whose buffers all live on one device (one <see cref="GpuContext"/>): an all-reduce
/// never leaves the device. Every rank calls <see cref="AllReduceAsync{T}"/>; the last to arrive packs
/// the ranks' inputs into one device buffer (device-to-device copies, rank order), reduces them with
/// <see cref="ReductionKernels"/> and copies the result into every rank's destination, then releases
/// the others. Ranks calling with different lengths, types or ops fail together with
/// <see cref="CollectiveErrorKind.Mismatch"/>; a rank missing for <see cref="Timeout"/> fails the
/// waiting ones with <see cref="CollectiveErrorKind.Timeout"/> (the group is then unusable).
/// </summary>
public sealed class SharedDeviceGroup : IDisposable
{
    private readonly object _lock = new();
    private readonly Slot[] _slots;
    private MemoryBuffer1D<byte, Stride1D.Dense>? _scratch;
    private TaskCompletionSource _round = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _arrived;
    private CollectiveException? _failure;

    /// <summary>Creates a group of <paramref name="worldSize"/> ranks on <paramref name="context"/> (not owned).</summary>
    public SharedDeviceGroup(string name, GpuContext context, int worldSize, TimeSpan? timeout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(worldSize);
        Name = name;
        Context = context;
        WorldSize = worldSize;
        Timeout = timeout ?? TimeSpan.FromSeconds(60);
        _slots = new Slot[worldSize];
    }

    /// <summary>The group's name (in errors).</summary>
    public string Name { get; }

    /// <summary>The shared device.</summary>
    public GpuContext Context { get; }

    /// <summary>Number of ranks.</summary>
    public int WorldSize { get; }

    /// <summary>How long an arrived rank waits for the others.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Number of all-reduces whose reduction ran on the device.</summary>
    public long DeviceReductions { get; private set; }

    /// <summary>
    /// All-reduce of <paramref name="send"/> (this rank's buffer on the shared device) into
    /// <paramref name="receive"/> (may be the same view) on every rank.
    /// </summary>
    public async ValueTask AllReduceAsync<T>(int rank, ArrayView<T> send, ArrayView<T> receive, ReduceOp op = ReduceOp.Sum, CancellationToken cancellationToken = default)
        where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, WorldSize);
        if (receive.Length != send.Length)
        {
            throw new ArgumentException($"Buffer holds {receive.Length} elements; expected {send.Length}.", nameof(receive));
        }

        Task round;
        lock (_lock)
        {
            if (_failure is not null)
            {
                throw _failure;
            }

            if (_slots[rank] is not null)
            {
                throw new InvalidOperationException($"Rank {rank} is already in an all-reduce of group '{Name}'.");
            }

            _slots[rank] = new Slot<T>(send, receive, op);
            round = _round.Task;
            if (++_arrived == WorldSize)
            {
                Complete();
                round = Task.CompletedTask;
            }
        }

        try
        {
            await round.WaitAsync(Timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            lock (_lock)
            {
                int late = Array.FindIndex(_slots, s => s is null);
                Fail(new CollectiveException(CollectiveErrorKind.Timeout, Name, rank, late, $"rank {rank} waited {Timeout.TotalSeconds:0.###} s for rank {late} in a device all-reduce"));
            }

            throw _failure!;
        }
    }

    /// <summary>Frees the device scratch buffer and fails waiting ranks.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            Fail(new CollectiveException(CollectiveErrorKind.GroupClosed, Name, -1, -1, "the group was disposed"));
            _scratch?.Dispose();
            _scratch = null;
        }
    }

    private void Fail(CollectiveException failure)
    {
        _failure ??= failure;
        _round.TrySetException(_failure);
    }

    /// <summary>Runs under the lock once every rank arrived: the reduction, then the next round.</summary>
    private void Complete()
    {
        TaskCompletionSource done = _round;
        _round = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _arrived = 0;
        Slot[] slots = (Slot[])_slots.Clone();
        Array.Clear(_slots);
        try
        {
            for (int r = 1; r < slots.Length; r++)
            {
                if (!slots[r].Matches(slots[0]))
                {
                    Fail(new CollectiveException(CollectiveErrorKind.Mismatch, Name, r, r, $"rank {r} called with {slots[r]}, rank 0 with {slots[0]}"));
                    done.TrySetException(_failure!);
                    throw _failure!;
                }
            }

            slots[0].Reduce(this, slots);
            DeviceReductions++;
            done.TrySetResult();
        }
        catch (Exception e) when (e is not CollectiveException)
        {
            done.TrySetException(e);
            throw;
        }
    }

    private ArrayView<T> Scratch<T>(long elements)
        where T : unmanaged
    {
        long bytes = elements * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        if (_scratch is null || _scratch.Length < bytes)
        {
            _scratch?.Dispose();
            _scratch = Context.Accelerator.Allocate1D<byte>(Math.Max(64, bytes));
        }

        return ((ArrayView<byte>)_scratch.View).SubView(0, bytes).Cast<T>();
    }

    private abstract class Slot
    {
        public abstract bool Matches(Slot other);

        public abstract void Reduce(SharedDeviceGroup group, Slot[] slots);
    }

    private sealed class Slot<T>(ArrayView<T> send, ArrayView<T> receive, ReduceOp op) : Slot
        where T : unmanaged
    {
        public ArrayView<T> Send { get; } = send;

        public ArrayView<T> Receive { get; } = receive;

        public ReduceOp Op { get; } = op;

        public override bool Matches(Slot other) => other is Slot<T> o && o.Send.Length == Send.Length && o.Op == Op;

        public override string ToString() => $"{Send.Length} x {typeof(T).Name} ({Op})";

        public override void Reduce(SharedDeviceGroup group, Slot[] slots)
        {
            long n = Send.Length;
            if (n == 0)
            {
                return;
            }

            // Packed inputs (rank order) then the result, in one device scratch buffer.
            ArrayView<T> scratch = group.Scratch<T>(n * (slots.Length + 1));
            for (int k = 0; k < slots.Length; k++)
            {
                ((Slot<T>)slots[k]).Send.CopyTo(scratch.SubView(k * n, n));
            }

            ArrayView<T> result = scratch.SubView(n * slots.Length, n);
            group.Context.Reductions.Reduce(Op, scratch.SubView(0, n * slots.Length), slots.Length, result);
            foreach (Slot slot in slots)
            {
                result.CopyTo(((Slot<T>)slot).Receive);
            }

            group.Context.Accelerator.Synchronize();
        }
    }
}
