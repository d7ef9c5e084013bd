using System.Buffers;
using System.Runtime.InteropServices;
using Ray.Objects;
using Ray.Plasma.Client;

namespace Ray;

/// <summary>
/// A read-only, zero-copy view of an array of unmanaged values stored in the runtime, from
/// <c>objectRef.GetView()</c>. Large objects are viewed in the node's shared memory: a 1 GiB
/// array is "fetched" in microseconds. The view keeps the object alive until disposed; using
/// it after that throws <see cref="ObjectDisposedException"/>.
/// </summary>
public sealed class ObjectView<T> : IDisposable where T : unmanaged
{
    private readonly ObjectEntry _entry;
    private readonly PlasmaBuffer? _shared;
    private readonly byte[]? _bytes;
    private readonly nint _native; // the bytes in native memory (an object put from C), kept by the view's reference
    private readonly int _length;
    private InlineManager? _manager;
    private int _released;

    internal ObjectView(ObjectEntry entry, PlasmaBuffer shared)
    {
        _entry = entry;
        _shared = shared;
        _length = checked((int)shared.Length);
    }

    internal ObjectView(ObjectEntry entry, byte[] bytes, int length)
    {
        _entry = entry;
        _bytes = bytes;
        _length = length;
    }

    internal ObjectView(ObjectEntry entry, nint native, int length)
    {
        _entry = entry;
        _native = native;
        _length = length;
    }

    /// <summary>True when the bytes are in the shared-memory store (readable by other processes of the node).</summary>
    public bool IsShared => _shared is not null;

    /// <summary>Number of elements.</summary>
    public int Length => _length / System.Runtime.CompilerServices.Unsafe.SizeOf<T>();

    /// <summary>The values.</summary>
    public ReadOnlySpan<T> Span
    {
        get
        {
            ThrowIfReleased();
            return _shared is not null ? _shared.AsSpan<T>() : MemoryMarshal.Cast<byte, T>(InlineBytes);
        }
    }

    private unsafe ReadOnlySpan<byte> InlineBytes => _native != 0 ? new ReadOnlySpan<byte>((void*)_native, _length) : _bytes.AsSpan(0, _length);

    /// <summary>The values as memory (can be stored, sliced and passed to async code while the view lives).</summary>
    public ReadOnlyMemory<T> Memory
    {
        get
        {
            ThrowIfReleased();
            if (_shared is not null) return _shared.AsMemory<T>();
            _manager ??= new InlineManager(this);
            return _manager.Memory;
        }
    }

    private void ThrowIfReleased()
    {
        if (Volatile.Read(ref _released) != 0) throw new ObjectDisposedException(nameof(ObjectView<T>), $"the view of object {_entry.Id} was disposed");
    }

    /// <summary>Releases the view and its reference to the object.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0) return;
        _shared?.Dispose();
        ((IDisposable?)_manager)?.Dispose();
        _entry.Release();
    }

    // Memory<T> over the store's inline copy (a byte[], or native memory), reinterpreted;
    // checks the view on every access. Native bytes never move: pinning them is free.
    private sealed class InlineManager(ObjectView<T> view) : MemoryManager<T>
    {
        private GCHandle _pin;

        public override Span<T> GetSpan()
        {
            view.ThrowIfReleased();
            return MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(MemoryMarshal.Cast<byte, T>(view.InlineBytes)), view.Length);
        }

        public override unsafe MemoryHandle Pin(int elementIndex = 0)
        {
            view.ThrowIfReleased();
            if (view._native != 0) return new MemoryHandle((byte*)view._native + elementIndex * sizeof(T));
            if (!_pin.IsAllocated) _pin = GCHandle.Alloc(view._bytes, GCHandleType.Pinned);
            return new MemoryHandle((byte*)_pin.AddrOfPinnedObject() + elementIndex * sizeof(T));
        }

        public override void Unpin() { }

        protected override void Dispose(bool disposing)
        {
            if (_pin.IsAllocated) _pin.Free();
        }
    }
}

/// <summary>Zero-copy reads of arrays of unmanaged values.</summary>
public static class ObjectViewExtensions
{
    /// <summary>
    /// Waits for the array and returns a view of its stored bytes, without copying. Dispose the
    /// view when done.
    /// </summary>
    public static ObjectView<T> GetView<T>(this ObjectRef<T[]> objectRef, TimeSpan? timeout = null) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(objectRef);
        objectRef.ThrowIfDisposed();
        var entry = objectRef.TypedEntry;
        entry.WaitCompletedOrThrow(timeout ?? Timeout.InfiniteTimeSpan);
        var view = entry.OpenView<T>();
        GC.KeepAlive(objectRef);
        return view;
    }
}
