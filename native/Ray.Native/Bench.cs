using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Ray.Native;

/// <summary>
/// The C# side of `make bench-native`: the same operations as the C and Python benchmarks,
/// written against the C# API and run inside the same library and process, so the three are
/// measured in one run on one runtime. Declared in native/bench/bench_internal.h, not in the
/// public header: not part of the stable ABI.
/// </summary>
internal static unsafe class Bench
{
    private static long s_sink;

    /// <summary>
    /// Put <paramref name="size"/> bytes, read them back, release: ns per round trip. Mode 0 reads
    /// through a view (as ray_get), mode 1 copies into a caller's buffer (as ray_get_copy).
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "ray_internal_bench_roundtrip")]
    private static int Roundtrip(ulong runtime, int mode, nuint size, long iterations, double* outNsPerOp)
    {
        try
        {
            if (outNsPerOp is null || iterations <= 0 || mode is < 0 or > 1) throw new NativeException(Status.InvalidArgument, "bad arguments");
            var rt = Exports.GetRuntime(runtime).Runtime;
            var data = new byte[(int)size];
            var target = new byte[(int)size];
            for (var i = 0; i < data.Length; i++) data[i] = (byte)i;
            long sink = 0;
            var start = Stopwatch.GetTimestamp();
            if (mode == 0)
            {
                for (long i = 0; i < iterations; i++)
                {
                    using var r = rt.PutBytes(data);
                    using var v = r.GetView();
                    var span = v.Span;
                    if (span.Length > 0) sink += span[0];
                }
            }
            else
            {
                for (long i = 0; i < iterations; i++)
                {
                    using var r = rt.PutBytes(data);
                    using var v = r.GetView();
                    v.Span.CopyTo(target);
                    if (target.Length > 0) sink += target[0];
                }
            }
            *outNsPerOp = Stopwatch.GetElapsedTime(start).TotalNanoseconds / iterations;
            s_sink += sink;
            return 0;
        }
        catch (Exception e) { return LastError.Fail("ray_internal_bench_roundtrip", e); }
    }

    /// <summary>Zero-copy views of an existing object (e.g. 1 GiB): ns per get + release.</summary>
    [UnmanagedCallersOnly(EntryPoint = "ray_internal_bench_view")]
    private static int View(ulong obj, long iterations, double* outNsPerOp)
    {
        try
        {
            if (outNsPerOp is null || iterations <= 0) throw new NativeException(Status.InvalidArgument, "bad arguments");
            using var r = Exports.NewRef(Exports.FindObject(obj, out _));
            long sink = 0;
            var start = Stopwatch.GetTimestamp();
            for (long i = 0; i < iterations; i++)
            {
                using var v = r.GetView();
                var span = v.Span;
                sink += span[span.Length - 1];
            }
            *outNsPerOp = Stopwatch.GetElapsedTime(start).TotalNanoseconds / iterations;
            s_sink += sink;
            return 0;
        }
        catch (Exception e) { return LastError.Fail("ray_internal_bench_view", e); }
    }

    private static byte[]? s_putSource; // the C# put's source, kept (and its pages touched) across rounds

    /// <summary>
    /// Puts of <paramref name="size"/> bytes from a managed array through the C# API
    /// (<c>rt.PutBytes(data).Dispose()</c>, as single_client_put_gigabytes): ns per put. The
    /// array is made (and its pages touched) once per size and reused, as the C side reuses its buffer.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "ray_internal_bench_put")]
    private static int Put(ulong runtime, nuint size, long iterations, double* outNsPerOp)
    {
        try
        {
            if (outNsPerOp is null || iterations <= 0 || size > int.MaxValue) throw new NativeException(Status.InvalidArgument, "bad arguments");
            var rt = Exports.GetRuntime(runtime).Runtime;
            if (s_putSource is null || s_putSource.Length != (int)size)
            {
                s_putSource = null;
                s_putSource = GC.AllocateUninitializedArray<byte>((int)size);
                s_putSource.AsSpan().Fill(0x5a);
            }
            var data = s_putSource;
            var start = Stopwatch.GetTimestamp();
            for (long i = 0; i < iterations; i++) rt.PutBytes(data).Dispose();
            *outNsPerOp = Stopwatch.GetElapsedTime(start).TotalNanoseconds / iterations;
            return 0;
        }
        catch (Exception e) { return LastError.Fail("ray_internal_bench_put", e); }
    }

    /// <summary>Live handles of every kind in the process (leak checks in the tests).</summary>
    [UnmanagedCallersOnly(EntryPoint = "ray_live_handles")]
    private static nuint LiveHandles() => (nuint)Handles.LiveCount;
}
