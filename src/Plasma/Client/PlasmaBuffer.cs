using System.Buffers;
using System.Runtime.CompilerServices;

namespace Ray.Plasma.Client;

/// <summary>Gives a reference back to whoever handed out a view (the store or a remote client).</summary>
internal interface IPlasmaReleaser
{
    void Release(PlasmaBuffer view);
}

/// <summary>
/// A read-only, zero-copy view of a sealed object in the shared arena. It holds a reference
/// that keeps the object alive (not evicted, not spilled, not deleted) until it is disposed.
/// Every access checks that the view is still held, so using it after release throws
/// <see cref="ObjectDisposedException"/> rather than reading memory the store reused (a span
/// taken before the release is the caller's to drop, as with any pooled memory).
/// </summary>
public sealed unsafe class PlasmaBuffer : IDisposable
{
    private readonly IPlasmaReleaser _releaser;
    private readonly byte* _data;
    private int _released;
    private object? _managers; // one memory manager per element type asked for

    internal PlasmaBuffer(IPlasmaReleaser releaser, PlasmaObjectInfo info, byte* data)
    {
        _releaser = releaser;
        Info = info;
        _data = data;
    }

    /// <summary>The object's id, offset, size and type tag.</summary>
    public PlasmaObjectInfo Info { get; }

    /// <summary>The object's id.</summary>
    public PlasmaObjectId Id => Info.Id;

    /// <summary>Data bytes.</summary>
    public long Length => Info.DataSize;

    /// <summary>True once disposed.</summary>
    public bool IsReleased => Volatile.Read(ref _released) != 0;

    /// <summary>The address of the data in this process (for native code and GPU copies).</summary>
    public nint Pointer
    {
        get
        {
            ThrowIfReleased();
            return (nint)_data;
        }
    }

    /// <summary>The bytes.</summary>
    public ReadOnlySpan<byte> Span => AsSpan<byte>();

    /// <summary>
    /// Page-locks this object's bytes for device copies (the GPU hook). The pin is undone when
    /// the returned handle or this view is disposed, whichever comes first.
    /// </summary>
    public IDisposable PinForDevice(IDevicePinner pinner)
    {
        ArgumentNullException.ThrowIfNull(pinner);
        ThrowIfReleased();
        var pin = pinner.Pin((nint)_data, Length);
        lock (this) (_pins ??= new()).Add(pin);
        if (Volatile.Read(ref _released) != 0) UnpinAll(); // released meanwhile: its unpin may have missed this one
        return new PinHandle(this, pin);
    }

    private List<IDisposable>? _pins;

    private sealed class PinHandle(PlasmaBuffer view, IDisposable pin) : IDisposable
    {
        public void Dispose()
        {
            lock (view) { if (view._pins is null || !view._pins.Remove(pin)) return; }
            pin.Dispose();
        }
    }

    private void UnpinAll()
    {
        // No lock unless something was pinned: views are keys of their client's registry (an
        // identity hash in the object header), and locking them as well would inflate every
        // view's header to a sync block, most of the cost of a view (~0.7 us).
        if (Volatile.Read(ref _pins) is null) return;
        IDisposable[]? pins;
        lock (this) { pins = _pins?.ToArray(); _pins = null; }
        if (pins is not null) foreach (var p in pins) p.Dispose();
    }

    /// <summary>The bytes, as memory that can be stored and sliced.</summary>
    public ReadOnlyMemory<byte> Memory => AsMemory<byte>();

    /// <summary>The data as a span of unmanaged values (its size must be a multiple of theirs).</summary>
    public ReadOnlySpan<T> AsSpan<T>() where T : unmanaged
    {
        ThrowIfReleased();
        return new ReadOnlySpan<T>(_data, ElementCount<T>());
    }

    /// <summary>The data as memory of unmanaged values; accesses after release throw.</summary>
    public ReadOnlyMemory<T> AsMemory<T>() where T : unmanaged
    {
        ThrowIfReleased();
        if (_managers is PlasmaMemoryManager<T> m) return m.Memory;
        var manager = new PlasmaMemoryManager<T>(this, _data, ElementCount<T>());
        Interlocked.CompareExchange(ref _managers, manager, null);
        return manager.Memory;
    }

    private int ElementCount<T>() where T : unmanaged
    {
        var size = Unsafe.SizeOf<T>();
        if (Length % size != 0)
            throw new InvalidOperationException($"object {Id} has {Length} bytes, not a whole number of {typeof(T).Name} ({size} bytes each)");
        return checked((int)(Length / size));
    }

    internal void ThrowIfReleased()
    {
        if (Volatile.Read(ref _released) != 0)
            throw new ObjectDisposedException(nameof(PlasmaBuffer), $"the view of object {Id} was released");
    }

    /// <summary>Releases the view's reference; the object may be evicted, spilled or freed after this.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0) return;
        UnpinAll(); // before the store may move or reuse the bytes
        _releaser.Release(this);
    }

    /// <summary>The mapping is going away: mark released without giving the reference back (nobody is left to take it).</summary>
    internal void Invalidate()
    {
        Interlocked.Exchange(ref _released, 1);
        UnpinAll();
    }

    private sealed class PlasmaMemoryManager<T>(PlasmaBuffer owner, byte* data, int length) : MemoryManager<T> where T : unmanaged
    {
        public override Span<T> GetSpan()
        {
            owner.ThrowIfReleased();
            return new Span<T>(data, length);
        }

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            owner.ThrowIfReleased();
            return new MemoryHandle(data + (long)elementIndex * sizeof(T));
        }

        public override void Unpin() { }

        protected override void Dispose(bool disposing) { }
    }
}
