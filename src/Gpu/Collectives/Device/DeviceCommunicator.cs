using System.Numerics;
using ILGPU;
using ILGPU.Runtime;
using Ray.Gpu.Devices;
using Ray.Gpu.Kernels;

namespace Ray.Gpu.Collectives.Device;

/// <summary>
/// Collectives whose source and destination are device buffers (<see cref="ArrayView{T}"/>, e.g. a
/// <c>MemoryBuffer1D&lt;T, Stride1D.Dense&gt;.View</c>) on a <see cref="GpuContext"/>, over any group
/// transport (in-process, shared memory, TCP). Data is staged through host arrays that are pinned
/// (allocated on the pinned object heap) and page-locked for the device with
/// <see cref="IlgpuDevicePinner"/>, so the device copies go straight to and from them; the host
/// collective then runs on the staged arrays. Staging arrays grow to the largest message and are
/// kept (and stay page-locked) until <see cref="Dispose"/>. One caller at a time, like the
/// <see cref="Collectives.Communicator"/> it wraps. Ranks that share one device in one process can reduce on the
/// device instead: <see cref="SharedDeviceGroup"/>.
/// </summary>
public sealed class DeviceCommunicator : IDisposable
{
    private readonly IlgpuDevicePinner _pinner;
    private readonly Dictionary<Type, Staging> _staging = new();

    /// <summary>Wraps <paramref name="communicator"/> for device buffers of <paramref name="context"/> (neither is owned).</summary>
    public DeviceCommunicator(Communicator communicator, GpuContext context)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentNullException.ThrowIfNull(context);
        Communicator = communicator;
        Context = context;
        _pinner = new IlgpuDevicePinner(context);
    }

    /// <summary>The host communicator the staged data goes through.</summary>
    public Communicator Communicator { get; }

    /// <summary>The device the buffers live on.</summary>
    public GpuContext Context { get; }

    /// <summary>Bytes of page-locked staging memory held now.</summary>
    public long StagingBytes => _staging.Values.Sum(s => s.Bytes);

    /// <summary>All-reduce of device buffers (see <see cref="Communicator.AllReduceAsync{T}(ReadOnlyMemory{T}, Memory{T}, ReduceOp, CancellationToken)"/>).</summary>
    public async ValueTask AllReduceAsync<T>(ArrayView<T> send, ArrayView<T> receive, ReduceOp op = ReduceOp.Sum, CancellationToken cancellationToken = default)
        where T : unmanaged, INumber<T>
    {
        Require(receive.Length == send.Length, "receive", receive.Length, send.Length);
        (T[] input, T[] output) = Stage<T>(send.Length, send.Length);
        CopyIn(send, input);
        await Communicator.AllReduceAsync<T>(input.AsMemory(0, (int)send.Length), output.AsMemory(0, (int)send.Length), op, cancellationToken).ConfigureAwait(false);
        CopyOut(output, receive);
    }

    /// <summary>Reduce of device buffers to <paramref name="root"/> (other ranks may pass an empty <paramref name="receive"/>).</summary>
    public async ValueTask ReduceAsync<T>(ArrayView<T> send, ArrayView<T> receive, int root, ReduceOp op = ReduceOp.Sum, CancellationToken cancellationToken = default)
        where T : unmanaged, INumber<T>
    {
        bool isRoot = Communicator.Rank == root;
        (T[] input, T[] output) = Stage<T>(send.Length, isRoot ? send.Length : 0);
        CopyIn(send, input);
        await Communicator.ReduceAsync<T>(input.AsMemory(0, (int)send.Length), output.AsMemory(0, isRoot ? (int)send.Length : 0), root, op, cancellationToken).ConfigureAwait(false);
        if (isRoot)
        {
            CopyOut(output, receive);
        }
    }

    /// <summary>Broadcast of a device buffer from <paramref name="root"/>.</summary>
    public async ValueTask BroadcastAsync<T>(ArrayView<T> buffer, int root, CancellationToken cancellationToken = default)
        where T : unmanaged, INumber<T>
    {
        (T[] staged, _) = Stage<T>(buffer.Length, 0);
        if (Communicator.Rank == root)
        {
            CopyIn(buffer, staged);
        }

        await Communicator.BroadcastAsync<T>(staged.AsMemory(0, (int)buffer.Length), root, cancellationToken).ConfigureAwait(false);
        if (Communicator.Rank != root)
        {
            CopyOut(staged, buffer);
        }
    }

    /// <summary>All-gather of device buffers (<paramref name="receive"/> holds WorldSize x send.Length, rank order).</summary>
    public async ValueTask AllGatherAsync<T>(ArrayView<T> send, ArrayView<T> receive, CancellationToken cancellationToken = default)
        where T : unmanaged, INumber<T>
    {
        Require(receive.Length == send.Length * Communicator.WorldSize, "receive", receive.Length, send.Length * Communicator.WorldSize);
        (T[] input, T[] output) = Stage<T>(send.Length, receive.Length);
        CopyIn(send, input);
        await Communicator.AllGatherAsync<T>(input.AsMemory(0, (int)send.Length), output.AsMemory(0, (int)receive.Length), cancellationToken).ConfigureAwait(false);
        CopyOut(output, receive);
    }

    /// <summary>Reduce-scatter of device buffers (<paramref name="send"/> holds WorldSize x receive.Length).</summary>
    public async ValueTask ReduceScatterAsync<T>(ArrayView<T> send, ArrayView<T> receive, ReduceOp op = ReduceOp.Sum, CancellationToken cancellationToken = default)
        where T : unmanaged, INumber<T>
    {
        Require(send.Length == receive.Length * Communicator.WorldSize, "send", send.Length, receive.Length * Communicator.WorldSize);
        (T[] input, T[] output) = Stage<T>(send.Length, receive.Length);
        CopyIn(send, input);
        await Communicator.ReduceScatterAsync<T>(input.AsMemory(0, (int)send.Length), output.AsMemory(0, (int)receive.Length), op, cancellationToken).ConfigureAwait(false);
        CopyOut(output, receive);
    }

    /// <summary>Unpins and drops the staging arrays.</summary>
    public void Dispose()
    {
        foreach (Staging staging in _staging.Values)
        {
            staging.Dispose();
        }

        _staging.Clear();
    }

    private static void CopyIn<T>(ArrayView<T> source, T[] staged)
        where T : unmanaged
    {
        if (source.Length > 0)
        {
            source.CopyToCPU(staged.AsSpan(0, (int)source.Length));
        }
    }

    private static void CopyOut<T>(T[] staged, ArrayView<T> destination)
        where T : unmanaged
    {
        if (destination.Length > 0)
        {
            destination.CopyFromCPU(staged.AsSpan(0, (int)destination.Length));
        }
    }

    private static void Require(bool condition, string name, long actual, long expected)
    {
        if (!condition)
        {
            throw new ArgumentException($"Buffer holds {actual} elements; expected {expected}.", name);
        }
    }

    private (T[] Input, T[] Output) Stage<T>(long inputLength, long outputLength)
        where T : unmanaged
    {
        if (inputLength > Array.MaxLength || outputLength > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(inputLength), "A device collective moves at most Array.MaxLength elements per buffer.");
        }

        if (!_staging.TryGetValue(typeof(T), out Staging? staging) || staging.Input.Length < inputLength || staging.Output.Length < outputLength)
        {
            long inLength = Math.Max(inputLength, staging?.Input.Length ?? 0), outLength = Math.Max(outputLength, staging?.Output.Length ?? 0);
            staging?.Dispose();
            staging = Staging.Create<T>(_pinner, (int)Math.Max(1, inLength), (int)Math.Max(1, outLength));
            _staging[typeof(T)] = staging;
        }

        return ((T[])staging.Input, (T[])staging.Output);
    }

    /// <summary>Two pinned arrays page-locked for the device; disposing unlocks them.</summary>
    private sealed unsafe class Staging : IDisposable
    {
        private readonly IDisposable _inputLock;
        private readonly IDisposable _outputLock;

        private Staging(Array input, Array output, long bytes, IDisposable inputLock, IDisposable outputLock)
        {
            Input = input;
            Output = output;
            Bytes = bytes;
            _inputLock = inputLock;
            _outputLock = outputLock;
        }

        public Array Input { get; }

        public Array Output { get; }

        public long Bytes { get; }

        public static Staging Create<T>(IlgpuDevicePinner pinner, int inputLength, int outputLength)
            where T : unmanaged
        {
            T[] input = GC.AllocateUninitializedArray<T>(inputLength, pinned: true);
            T[] output = GC.AllocateUninitializedArray<T>(outputLength, pinned: true);
            fixed (T* i = input)
            fixed (T* o = output)
            {
                // The arrays live on the pinned object heap: their addresses never change.
                IDisposable inputLock = pinner.Pin((nint)i, (long)inputLength * sizeof(T));
                IDisposable outputLock = pinner.Pin((nint)o, (long)outputLength * sizeof(T));
                return new Staging(input, output, ((long)inputLength + outputLength) * sizeof(T), inputLock, outputLock);
            }
        }

        public void Dispose()
        {
            _inputLock.Dispose();
            _outputLock.Dispose();
        }
    }
}
