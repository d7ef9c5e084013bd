using Ray.Protocol;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ray.Cluster.Wire;
using Ray.Objects;

namespace Ray.Core.Tests;

/// <summary>
/// Objects whose inline bytes live in native memory (puts through the C ABI): every reader sees
/// the same bytes as for a managed put, views point at the bytes themselves, and the memory is
/// freed only after the last reference (handle or view) is gone.
/// </summary>
public class NativeBytesTests
{
    private static byte[] Pattern(int n)
    {
        var a = new byte[n];
        for (var i = 0; i < n; i++) a[i] = (byte)(i * 7 + 3);
        return a;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(64)]
    [InlineData(1024)]
    [InlineData(50 * 1024)]
    public void Readers_see_the_bytes_and_views_share_them(int size)
    {
        using var rt = RayRuntime.Start(new RuntimeOptions { NumCpus = 1 });
        var data = Pattern(size);
        using var r = new ObjectRef<byte[]>(rt.Core.PutBytesEntry(data, nativeMemory: true));

        Assert.Equal(data, r.Get());
        using var a = r.GetView();
        using var b = r.GetView();
        Assert.False(a.IsShared);
        Assert.True(a.Span.SequenceEqual(data));
        // Both views are the bytes themselves, not copies.
        Assert.True(Unsafe.AreSame(ref MemoryMarshal.GetReference(a.Span), ref MemoryMarshal.GetReference(b.Span)));
        unsafe
        {
            var native = r.TypedEntry.StableBytes(out var length, out var shared);
            Assert.False(shared);
            Assert.NotEqual(0, native);
            Assert.Equal(size, length);
            using var pin = a.Memory.Pin();
            fixed (byte* p = a.Span)
            {
                Assert.True(p == (byte*)native); // the view is the native bytes
                Assert.True(pin.Pointer == p);   // and pinning them moves nothing
            }
        }
        Assert.True(a.Memory.Span.SequenceEqual(data));
    }

    [Fact]
    public void A_task_reads_a_native_put_argument()
    {
        using var rt = RayRuntime.Start(new RuntimeOptions { NumCpus = 2 });
        var data = Pattern(4096);
        using var r = new ObjectRef<byte[]>(rt.Core.PutBytesEntry(data, nativeMemory: true));
        var sum = rt.Task((byte[] xs) => xs.Sum(x => (long)x)).Remote(r);
        Assert.Equal(data.Sum(x => (long)x), sum.Get());
    }

    [Fact]
    public void The_wire_form_is_the_inline_bytes()
    {
        using var rt = RayRuntime.Start(new RuntimeOptions { NumCpus = 1 });
        var data = Pattern(300);
        using var r = new ObjectRef<byte[]>(rt.Core.PutBytesEntry(data, nativeMemory: true));
        var wire = PayloadWriter.Build(r.TypedEntry, static (w, e) => EntryWire.Write(w, e));
        var offset = 0;
        var value = ValueWire.Read(wire, ref offset);
        Assert.Equal(ValueWire.Inline, value.Tag);
        Assert.True(value.Bytes.SequenceEqual(data));
    }

    [Fact]
    public void A_view_keeps_the_bytes_after_the_last_handle_and_the_last_view_frees_them()
    {
        using var rt = RayRuntime.Start(new RuntimeOptions { NumCpus = 1 });
        var data = Pattern(2000);
        var entry = rt.Core.PutBytesEntry(data, nativeMemory: true);
        var r = new ObjectRef<byte[]>(entry);
        var view = r.GetView();
        r.Dispose();
        Assert.False(entry.IsFreed);
        Assert.True(view.Span.SequenceEqual(data));
        view.Dispose();
        Assert.True(entry.IsFreed);
        Assert.Equal(0, entry.StableBytes(out _, out _));
        Assert.Throws<ObjectDisposedException>(() => view.Span.Length);
        // A reader arriving after the free is refused, never reads freed memory.
        Assert.False(entry.TryAddRef());
        Assert.ThrowsAny<Exception>(() => entry.OpenView<byte>());
    }

    [Fact]
    public void Large_and_empty_puts_go_where_managed_puts_go()
    {
        using var rt = RayRuntime.Start(new RuntimeOptions { NumCpus = 1, LargeObjectThresholdBytes = 64 * 1024 });
        var big = Pattern(200 * 1024);
        using var large = new ObjectRef<byte[]>(rt.Core.PutBytesEntry(big, nativeMemory: true));
        using (var v = large.GetView())
        {
            Assert.True(v.IsShared);
            Assert.True(v.Span.SequenceEqual(big));
        }
        Assert.Equal(0, large.TypedEntry.StableBytes(out _, out _)); // embedded: only a view pins a store object
        using var empty = new ObjectRef<byte[]>(rt.Core.PutBytesEntry([], nativeMemory: true));
        Assert.Empty(empty.Get());
    }

    [Fact]
    public async Task Concurrent_readers_and_the_last_release_never_fault()
    {
        using var rt = RayRuntime.Start(new RuntimeOptions { NumCpus = 2 });
        var data = Pattern(512);
        for (var round = 0; round < 200; round++)
        {
            var entry = rt.Core.PutBytesEntry(data, nativeMemory: true);
            using var start = new Barrier(3);
            var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
            {
                start.SignalAndWait();
                for (var i = 0; i < 50; i++)
                {
                    try
                    {
                        using var v = entry.OpenView<byte>();
                        Assert.True(v.Span.SequenceEqual(data)); // a view that opened reads the real bytes
                    }
                    catch (ObjectLostException) { return; }
                }
            })).ToArray();
            start.SignalAndWait();
            entry.Release(); // the put's reference, while the readers run
            await Task.WhenAll(readers);
            Assert.True(entry.IsFreed);
        }
    }
}
