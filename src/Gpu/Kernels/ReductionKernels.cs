using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Runtime;

namespace Ray.Gpu.Kernels;

/// <summary>
/// Element-wise reduction of N equally sized input buffers into one output on an accelerator.
/// The inputs are packed back to back in one view (<c>inputs[k * length + i]</c>), which is how a
/// collective stages peers' chunks on a device. Kernels are loaded once per (op, type) and cached.
/// </summary>
public sealed class ReductionKernels
{
    // Below this many elements per thread the launch overhead dominates; keeps the CPU grid small.
    private const long MinElementsPerThread = 16 * 1024;

    private readonly Accelerator _accelerator;
    private readonly ConcurrentDictionary<(Type Op, Type Element), Delegate> _launchers = new();

    internal ReductionKernels(Accelerator accelerator) => _accelerator = accelerator;

    /// <summary>
    /// Reduces <paramref name="inputCount"/> packed buffers of <c>output.Length</c> elements into
    /// <paramref name="output"/> (which may alias the first input). Asynchronous on the default stream.
    /// </summary>
    /// <typeparam name="T">
    /// float, double, int, long, or half precision: <see cref="System.Half"/> buffers are reinterpreted as
    /// <see cref="ILGPU.Half"/> (same IEEE binary16 bits), whose arithmetic ILGPU supports in kernels
    /// (native fp16 on CUDA, through float elsewhere). Each operation rounds to half, as the host path does.
    /// </typeparam>
    public void Reduce<T>(ReduceOp op, ArrayView<T> packedInputs, int inputCount, ArrayView<T> output)
        where T : unmanaged
    {
        if (typeof(T) == typeof(System.Half))
        {
            Reduce(op, packedInputs.Cast<ILGPU.Half>(), inputCount, output.Cast<ILGPU.Half>());
            return;
        }

        Type opType = op switch
        {
            ReduceOp.Sum => typeof(SumOp),
            ReduceOp.Product => typeof(ProductOp),
            ReduceOp.Min => typeof(MinOp),
            ReduceOp.Max => typeof(MaxOp),
            _ => throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown reduce op."),
        };
        Launch(packedInputs, inputCount, output, opType, static (acc, key) => Load(acc, key.Op, key.Element));
    }

    /// <summary>
    /// Same as <see cref="Reduce{T}(ReduceOp, ArrayView{T}, int, ArrayView{T})"/> with a caller-defined
    /// operator struct (for example a saturating sum); its kernel is loaded once and cached as well.
    /// </summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <typeparam name="TOp">Operator; must be usable inside an ILGPU kernel (no managed references).</typeparam>
    public void Reduce<T, TOp>(ArrayView<T> packedInputs, int inputCount, ArrayView<T> output)
        where T : unmanaged
        where TOp : struct, IReduceOp<T> =>
        Launch(packedInputs, inputCount, output, typeof(TOp), static (acc, _) => Load<T, TOp>(acc));

    private void Launch<T>(ArrayView<T> packedInputs, int inputCount, ArrayView<T> output, Type opType, Func<Accelerator, (Type Op, Type Element), Delegate> load)
        where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputCount);
        long length = output.Length;
        if (packedInputs.Length != length * inputCount)
        {
            throw new ArgumentException(
                $"Packed inputs hold {packedInputs.Length} elements; expected {inputCount} x {length}.",
                nameof(packedInputs));
        }

        if (length == 0)
        {
            return;
        }

        var launcher = (Action<Index1D, ArrayView<T>, ArrayView<T>, ReduceShape>)_launchers.GetOrAdd(
            (opType, typeof(T)), key => load(_accelerator, key));
        (int threads, ReduceShape shape) = Plan(length, inputCount);
        launcher(threads, packedInputs, output, shape);
    }

    /// <summary>
    /// Convenience for host arrays: copies <paramref name="inputs"/> to the device, reduces and copies
    /// the result into <paramref name="output"/>. Synchronous.
    /// </summary>
    public void Reduce<T>(ReduceOp op, IReadOnlyList<T[]> inputs, T[] output)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfZero(inputs.Count);
        long length = output.Length;
        using MemoryBuffer1D<T, Stride1D.Dense> packed = _accelerator.Allocate1D<T>(Math.Max(1, length * inputs.Count));
        using MemoryBuffer1D<T, Stride1D.Dense> result = _accelerator.Allocate1D<T>(Math.Max(1, length));
        for (int k = 0; k < inputs.Count; k++)
        {
            if (inputs[k].Length != length)
            {
                throw new ArgumentException($"Input {k} has {inputs[k].Length} elements; expected {length}.", nameof(inputs));
            }

            if (length > 0)
            {
                packed.View.SubView(k * length, length).CopyFromCPU(inputs[k]);
            }
        }

        if (length == 0)
        {
            return;
        }

        Reduce<T>(op, packed.View.SubView(0, length * inputs.Count), inputs.Count, result.View.SubView(0, length));
        _accelerator.Synchronize();
        result.View.SubView(0, length).CopyToCPU(output);
    }

    private (int Threads, ReduceShape Shape) Plan(long length, int count)
    {
        long maxThreads = _accelerator.AcceleratorType == AcceleratorType.CPU
            ? _accelerator.MaxNumThreads
            : (long)_accelerator.NumMultiprocessors * _accelerator.MaxNumThreadsPerMultiprocessor;
        long threads = Math.Clamp((length + MinElementsPerThread - 1) / MinElementsPerThread, 1, Math.Max(1, maxThreads));
        long perThread = (length + threads - 1) / threads;
        var shape = new ReduceShape { Count = count, Length = length, PerThread = perThread };
        if (_accelerator.AcceleratorType == AcceleratorType.CPU)
        {
            // One contiguous chunk per thread: sequential memory for each core.
            shape.First = perThread;
            shape.Step = 1;
        }
        else
        {
            // Grid-stride: neighbouring threads touch neighbouring elements (coalesced).
            shape.First = 1;
            shape.Step = threads;
        }

        return ((int)threads, shape);
    }

    private static Delegate Load(Accelerator accelerator, Type opType, Type type)
    {
        ReduceOp op = opType == typeof(SumOp) ? ReduceOp.Sum
            : opType == typeof(ProductOp) ? ReduceOp.Product
            : opType == typeof(MinOp) ? ReduceOp.Min
            : ReduceOp.Max;
        if (type == typeof(float))
        {
            return op switch
            {
                ReduceOp.Sum => Load<float, SumOp>(accelerator),
                ReduceOp.Product => Load<float, ProductOp>(accelerator),
                ReduceOp.Min => Load<float, MinOp>(accelerator),
                _ => Load<float, MaxOp>(accelerator),
            };
        }

        if (type == typeof(double))
        {
            return op switch
            {
                ReduceOp.Sum => Load<double, SumOp>(accelerator),
                ReduceOp.Product => Load<double, ProductOp>(accelerator),
                ReduceOp.Min => Load<double, MinOp>(accelerator),
                _ => Load<double, MaxOp>(accelerator),
            };
        }

        if (type == typeof(int))
        {
            return op switch
            {
                ReduceOp.Sum => Load<int, SumOp>(accelerator),
                ReduceOp.Product => Load<int, ProductOp>(accelerator),
                ReduceOp.Min => Load<int, MinOp>(accelerator),
                _ => Load<int, MaxOp>(accelerator),
            };
        }

        if (type == typeof(long))
        {
            return op switch
            {
                ReduceOp.Sum => Load<long, SumOp>(accelerator),
                ReduceOp.Product => Load<long, ProductOp>(accelerator),
                ReduceOp.Min => Load<long, MinOp>(accelerator),
                _ => Load<long, MaxOp>(accelerator),
            };
        }

        if (type == typeof(ILGPU.Half))
        {
            return op switch
            {
                ReduceOp.Sum => Load<ILGPU.Half, SumOp>(accelerator),
                ReduceOp.Product => Load<ILGPU.Half, ProductOp>(accelerator),
                ReduceOp.Min => Load<ILGPU.Half, MinOp>(accelerator),
                _ => Load<ILGPU.Half, MaxOp>(accelerator),
            };
        }

        throw new NotSupportedException($"Reductions support float, double, int, long and half, not {type.Name}.");
    }

    private static Action<Index1D, ArrayView<T>, ArrayView<T>, ReduceShape> Load<T, TOp>(Accelerator accelerator)
        where T : unmanaged
        where TOp : struct, IReduceOp<T> =>
        accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ReduceShape>(ReduceKernel<T, TOp>);

    private static void ReduceKernel<T, TOp>(Index1D index, ArrayView<T> inputs, ArrayView<T> output, ReduceShape shape)
        where T : unmanaged
        where TOp : struct, IReduceOp<T>
    {
        TOp op = default;
        long i = index * shape.First;
        for (long j = 0; j < shape.PerThread; j++, i += shape.Step)
        {
            if (i >= shape.Length)
            {
                return;
            }

            T acc = inputs[i];
            long offset = i;
            for (int k = 1; k < shape.Count; k++)
            {
                offset += shape.Length;
                acc = op.Apply(acc, inputs[offset]);
            }

            output[i] = acc;
        }
    }
}
