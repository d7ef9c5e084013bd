using BenchmarkDotNet.Attributes;
using MemoryPack;
using Ray.Serialization;

namespace Ray.Benchmarks;

/// <summary>A record-like object serialized through MemoryPack: a few fields and a list of 100 ints.</summary>
[MemoryPackable]
public sealed partial class SampleRecord
{
    public int Id { get; set; }
    public string Name { get; set; } = "";
    public double Score { get; set; }
    public DateTime CreatedUtc { get; set; }
    public List<int> Values { get; set; } = [];

    public static SampleRecord Create() => new()
    {
        Id = 42,
        Name = "sample-record",
        Score = 3.25,
        CreatedUtc = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc),
        Values = Enumerable.Range(0, 100).ToList(),
    };
}

/// <summary>
/// The object path for small values: Put and Get of an int (stored directly), Get of a
/// 1 MiB long[] (raw copy out), Put of a MemoryPack object, and the codec on its own.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class ObjectPathBenchmarks
{
    private RayRuntime _rt = null!;
    private ObjectRef<int> _storedInt = null!;
    private ObjectRef<long[]> _storedLongs1M = null!;
    private SampleRecord _record = null!;
    private byte[] _recordBytes = null!;

    [GlobalSetup]
    public void Setup()
    {
        _rt = RayRuntime.Start(new RuntimeOptions { NumCpus = 2 });
        _storedInt = _rt.Put(7);
        var longs = new long[(1 << 20) / sizeof(long)];
        longs.AsSpan().Fill(1);
        _storedLongs1M = _rt.Put(longs);
        _record = SampleRecord.Create();
        var sv = Codec<SampleRecord>.Serialize(_record, _rt.Core.Store, "benchmark record");
        _recordBytes = sv.Span.ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _storedInt.Dispose();
        _storedLongs1M.Dispose();
        _rt.Dispose();
    }

    [Benchmark]
    public void Put_Dispose_Int() => _rt.Put(123).Dispose();

    [Benchmark]
    public int Get_Int() => _storedInt.Get();

    /// <summary>Every Get hands out its own copy of the array, so this allocates 1 MiB.</summary>
    [Benchmark]
    public long[] Get_LongArray_1MiB() => _storedLongs1M.Get();

    [Benchmark]
    public void Put_Dispose_Record() => _rt.Put(_record).Dispose();

    [Benchmark]
    public int Codec_Serialize_Record() => Codec<SampleRecord>.Serialize(_record, _rt.Core.Store, "benchmark record").Length;

    [Benchmark]
    public SampleRecord Codec_Deserialize_Record() =>
        Codec<SampleRecord>.Deserialize(_recordBytes, _recordBytes.Length, _rt.Core.Store);
}

/// <summary>
/// Put+Dispose of unmanaged arrays by size: one memcpy into a store buffer (pooled from 1 MiB
/// up), and the buffer returned to the pool on Dispose.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class ObjectPathArrayBenchmarks
{
    private RayRuntime _rt = null!;
    private byte[] _bytes = null!;
    private long[] _longs = null!;

    [Params(1 << 10, 1 << 20, 64 << 20)]
    public int SizeBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _rt = RayRuntime.Start(new RuntimeOptions { NumCpus = 2 });
        _bytes = new byte[SizeBytes];
        _bytes.AsSpan().Fill(1);
        _longs = new long[SizeBytes / sizeof(long)];
        _longs.AsSpan().Fill(1);
    }

    [GlobalCleanup]
    public void Cleanup() => _rt.Dispose();

    [Benchmark]
    public void Put_Dispose_ByteArray() => _rt.Put(_bytes).Dispose();

    [Benchmark]
    public void Put_Dispose_LongArray() => _rt.Put(_longs).Dispose();
}
