using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Ray.Native;

/// <summary>
/// A runtime started or connected from C: the runtime plus the functions C registered on it.
/// A connected runtime (a driver of a raylet) keeps its objects in the cluster, but the tasks C
/// submits call C function pointers or C# compiled into this library, which the cluster's worker
/// processes cannot load: they run on a local executor, an embedded runtime in this process
/// started on the first submit (<see cref="Executor"/>).
/// </summary>
internal sealed class NativeRuntime
{
    private static readonly ConditionalWeakTable<RayRuntime, NativeRuntime> s_byRuntime = new();
    private static int s_nextId;
    private readonly ConcurrentDictionary<string, NativeFunction> _functions = new(StringComparer.Ordinal);
    private readonly RuntimeOptions? _executorOptions;
    private readonly object _executorLock = new();
    private RayRuntime? _executor;
    private int _shutdown;

    /// <param name="runtime">The runtime C's objects live in.</param>
    /// <param name="executorOptions">For a connected runtime: the options of its local executor.</param>
    internal NativeRuntime(RayRuntime runtime, RuntimeOptions? executorOptions = null)
    {
        Runtime = runtime;
        _executorOptions = executorOptions;
        Id = Interlocked.Increment(ref s_nextId);
        s_byRuntime.AddOrUpdate(runtime, this);
    }

    internal RayRuntime Runtime { get; }

    /// <summary>True for a driver connected to a raylet (ray_connect).</summary>
    internal bool IsConnected => _executorOptions is not null;

    /// <summary>
    /// Where tasks submitted from C run: the runtime itself when embedded; for a connected one,
    /// an embedded runtime in this process, started on first use.
    /// </summary>
    internal RayRuntime Executor
    {
        get
        {
            if (_executorOptions is null) return Runtime;
            var e = Volatile.Read(ref _executor);
            if (e is not null) return e;
            lock (_executorLock)
            {
                if (IsShutdown) throw new NativeException(Status.Shutdown, "the runtime was shut down");
                if (_executor is not null) return _executor;
                e = RayRuntime.Start(_executorOptions);
                s_byRuntime.AddOrUpdate(e, this);
                Volatile.Write(ref _executor, e);
                return e;
            }
        }
    }

    /// <summary>True when the object lives in the cluster (a put of a connected runtime), not in the local executor.</summary>
    internal bool InCluster(Ray.Objects.ObjectEntry entry) => IsConnected && entry.Id.Owner == Runtime.Core.OwnerId;

    /// <summary>Owner id of this runtime's handles (never 0).</summary>
    internal int Id { get; }

    internal ulong Handle { get; set; }

    internal bool IsShutdown => Volatile.Read(ref _shutdown) != 0;

    /// <summary>The native runtime wrapping <paramref name="runtime"/>, if C started it.</summary>
    internal static NativeRuntime? For(RayRuntime runtime) => s_byRuntime.TryGetValue(runtime, out var n) ? n : null;

    /// <summary>A function registered on this runtime from C, else a global one (C# built-ins).</summary>
    internal NativeFunction? Find(string name) =>
        _functions.TryGetValue(name, out var f) ? f : NativeFunctions.FindGlobal(name);

    internal void Register(NativeFunction function)
    {
        if (NativeFunctions.FindGlobal(function.Name) is not null)
            throw new NativeException(Status.AlreadyExists, $"'{function.Name}' is a built-in function of the library; pick another name");
        if (!_functions.TryAdd(function.Name, function))
            throw new NativeException(Status.AlreadyExists, $"a function named '{function.Name}' is already registered on this runtime; unregister it first");
    }

    internal void Unregister(string name)
    {
        if (!_functions.TryRemove(name, out _))
            throw new NativeException(Status.NotFound, NativeFunctions.FindGlobal(name) is not null
                ? $"'{name}' is a built-in function and cannot be unregistered"
                : $"no function named '{name}' is registered on this runtime");
    }

    /// <summary>Releases every handle of this runtime, then stops it. Only the first call does anything.</summary>
    internal bool Shutdown()
    {
        if (Interlocked.Exchange(ref _shutdown, 1) != 0) return false;
        // Every handle of this runtime stops working; views are closed before the store goes.
        // Objects keep the references their handles held (the runtime and its store go as a
        // whole): a thread still blocked in ray_get on one then sees the shutdown error of its
        // task instead of a freed object.
        var entries = Handles.RemoveAll(Id);
        foreach (var e in entries) if (e.Kind == HandleKind.View) Views.Close(e);
        RayRuntime? executor;
        lock (_executorLock) executor = _executor;
        executor?.Shutdown();
        Runtime.Shutdown();
        // Puts from C hold native memory, which only their release frees (no finalizer, no GC):
        // give their handles' references back now. They are always complete, so no ray_get is
        // waiting on one; the rest of the objects go with the runtime.
        foreach (var e in entries)
            if (e.Kind == HandleKind.Object && e.Target is Ray.Objects.ObjectEntry<byte[]> { HoldsNativeBytes: true } put)
                put.Release();
        _functions.Clear();
        return true;
    }
}

/// <summary>
/// The views handed to C, by how their bytes are held: a shared-memory object is viewed in place
/// (zero copy; the handle holds the <see cref="ObjectView{T}"/>); an inline object of at most
/// <see cref="CopyThreshold"/> bytes is copied into native memory (cheaper than pinning for small
/// objects); a larger inline object is pinned in place (<see cref="PinnedView"/>).
/// </summary>
internal static unsafe class Views
{
    internal const int CopyThreshold = 1024;

    /// <summary>The target of a view whose bytes were copied into native memory (Aux).</summary>
    internal static readonly object Copied = new();

    internal static ulong Open(Ray.Objects.ObjectEntry<byte[]> entry, int owner, TimeSpan timeout, out byte* data, out int length, out bool shared)
    {
        entry.WaitCompletedOrThrow(timeout);
        // Bytes that stay where they are while the object lives (put from C into native memory,
        // or held by a connected driver in the node store): the view points at them and holds a
        // reference to the object (the handle's target); nothing copied, pinned or allocated.
        if (entry.TryAddRef())
        {
            try
            {
                var stable = entry.StableBytes(out length, out shared);
                if (stable != 0)
                {
                    data = (byte*)stable;
                    try { return Handles.Add(HandleKind.View, entry, owner, stable); }
                    catch { entry.ReleaseStableBytes(); throw; }
                }
            }
            catch
            {
                entry.Release();
                throw;
            }
            entry.Release();
        }
        // Fast path for small inline objects: copy straight out of the store's bytes (the
        // caller's object handle keeps them alive), no intermediate view object.
        if (entry.TryGetInlineBytes(out var inline) && inline.Length <= CopyThreshold)
        {
            length = inline.Length;
            shared = false;
            data = length == 0 ? null : (byte*)NativeMemory.Alloc((nuint)length);
            inline.CopyTo(new Span<byte>(data, length));
            try { return Handles.Add(HandleKind.View, Copied, owner, (nint)data); }
            catch { NativeMemory.Free(data); throw; }
        }
        var view = entry.OpenView<byte>();
        try
        {
            length = view.Length;
            shared = view.IsShared;
            if (shared)
            {
                // Shared memory is native and never moves while the view is open: no pin needed.
                data = (byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetReference(view.Span));
                return Handles.Add(HandleKind.View, view, owner, (nint)data);
            }
            if (length <= CopyThreshold)
            {
                data = length == 0 ? null : (byte*)NativeMemory.Alloc((nuint)length);
                view.Span.CopyTo(new Span<byte>(data, length));
                view.Dispose();
                try { return Handles.Add(HandleKind.View, Copied, owner, (nint)data); }
                catch { NativeMemory.Free(data); throw; }
            }
            var pinned = new PinnedView(view);
            data = pinned.Data;
            return Handles.Add(HandleKind.View, pinned, owner, (nint)data);
        }
        catch
        {
            view.Dispose(); // a second dispose does nothing
            throw;
        }
    }

    /// <summary>Closes a view whose handle was removed.</summary>
    internal static void Close(in HandleEntry entry)
    {
        switch (entry.Target)
        {
            case ObjectView<byte> shared: shared.Dispose(); break;
            case PinnedView pinned: pinned.Dispose(); break;
            case Ray.Objects.ObjectEntry<byte[]> target: // stable bytes: put from C, or a connected driver's held view
                target.ReleaseStableBytes();
                target.Release();
                break;
            default: NativeMemory.Free((void*)entry.Aux); break; // Copied
        }
    }

    /// <summary>An inline object's bytes pinned in place while the view is open.</summary>
    internal sealed class PinnedView : IDisposable
    {
        private readonly ObjectView<byte> _view;
        private System.Buffers.MemoryHandle _pin;

        internal PinnedView(ObjectView<byte> view)
        {
            _view = view;
            _pin = view.Memory.Pin();
            Data = (byte*)_pin.Pointer;
        }

        internal byte* Data { get; }

        public void Dispose()
        {
            _pin.Dispose();
            _view.Dispose();
        }
    }
}
