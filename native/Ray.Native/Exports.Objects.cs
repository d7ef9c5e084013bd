using System.Runtime.InteropServices;
using Ray.Objects;

namespace Ray.Native;

/// <summary>The C exports for objects and views (put, get, copy, release, wait); see ray_runtime.h.</summary>
internal static unsafe partial class Exports
{
    // ---- objects ----

    [UnmanagedCallersOnly(EntryPoint = "ray_put")]
    private static int RayPut(ulong runtime, byte* data, nuint size, ulong* outObject)
    {
        try
        {
            if (outObject is null) throw Null("out_object");
            *outObject = 0;
            var rt = GetRuntime(runtime);
            var span = Bytes(data, size, "data");
            *outObject = AddObject(rt.Runtime.Core.PutBytesEntry(span, nativeMemory: true), rt);
            return 0;
        }
        catch (Exception e) { return LastError.Fail("ray_put", e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "ray_get")]
    private static int RayGet(ulong obj, long timeoutMs, NativeViewInfo* outView)
    {
        try
        {
            if (outView is null) throw Null("out_view");
            *outView = default;
            var entry = FindObject(obj, out var owner);
            outView->Handle = Views.Open(entry, owner, Timeout(timeoutMs), out var data, out var length, out var shared);
            outView->Data = data;
            outView->Size = (ulong)length;
            outView->IsShared = shared ? 1 : 0;
            return 0;
        }
        catch (Exception e) { return LastError.Fail("ray_get", e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "ray_get_copy")]
    private static int RayGetCopy(ulong obj, long timeoutMs, byte* buffer, nuint capacity, nuint* outSize)
    {
        try
        {
            if (outSize is not null) *outSize = 0;
            if (buffer is null && capacity != 0) throw Null("buffer", $" with capacity {capacity}");
            var entry = FindObject(obj, out _);
            entry.WaitCompletedOrThrow(Timeout(timeoutMs));
            // Inline bytes are copied straight out (the handle's reference keeps managed ones, a
            // reference of the copy's own native ones); the rest through a view, which holds
            // the object while it is read.
            if (entry.TryAddRef())
            {
                try
                {
                    var stable = entry.StableBytes(out var length, out _);
                    if (stable != 0)
                    {
                        try { CopyOut(new ReadOnlySpan<byte>((void*)stable, length), buffer, capacity, outSize); }
                        finally { entry.ReleaseStableBytes(); }
                        return 0;
                    }
                }
                finally { entry.Release(); }
            }
            if (entry.TryGetInlineBytes(out var inline))
            {
                CopyOut(inline, buffer, capacity, outSize);
                return 0;
            }
            using var view = entry.OpenView<byte>();
            CopyOut(view.Span, buffer, capacity, outSize);
            return 0;
        }
        catch (Exception e) { return LastError.Fail("ray_get_copy", e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "ray_view_release")]
    private static int RayViewRelease(ulong view)
    {
        try
        {
            var entry = Handles.Remove(view, HandleKind.View);
            Views.Close(entry);
            return 0;
        }
        catch (Exception e) { return LastError.Fail("ray_view_release", e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "ray_object_release")]
    private static int RayObjectRelease(ulong obj)
    {
        try
        {
            var entry = Handles.Remove(obj, HandleKind.Object);
            ((ObjectEntry<byte[]>)entry.Target).Release();
            return 0;
        }
        catch (Exception e) { return LastError.Fail("ray_object_release", e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "ray_wait")]
    private static int RayWait(ulong runtime, ulong* objects, nuint count, nuint numReturns, long timeoutMs, byte* outReady, nuint* outNumReady)
    {
        try
        {
            if (outNumReady is not null) *outNumReady = 0;
            if (objects is null && count != 0) throw Null("objects", $" with count {count}");
            if (count > int.MaxValue) throw new NativeException(Status.InvalidArgument, $"count {count} is too large");
            if (outReady is not null) new Span<byte>(outReady, (int)count).Clear();
            var rt = GetRuntime(runtime);
            if (numReturns > count)
                throw new NativeException(Status.InvalidArgument, $"num_returns ({numReturns}) is larger than count ({count})");
            var refs = new ObjectRef[(int)count];
            try
            {
                ReadyOf(rt, objects, refs, numReturns, timeoutMs, outReady, outNumReady);
            }
            finally
            {
                foreach (var r in refs) r?.Dispose();
            }
            return 0;
        }
        catch (Exception e) { return LastError.Fail("ray_wait", e); }
    }

    // ray_wait over temporary handles of the objects (each holds a reference of its own meanwhile).
    private static void ReadyOf(NativeRuntime rt, ulong* objects, ObjectRef[] refs, nuint numReturns, long timeoutMs, byte* outReady, nuint* outNumReady)
    {
        for (var i = 0; i < refs.Length; i++)
        {
            if (!Handles.TryFind(objects[i], HandleKind.Object, out var entry))
            {
                var e = Handles.Invalid(objects[i], HandleKind.Object);
                throw new NativeException(e.Status, $"objects[{i}]: {e.Message}");
            }
            if (entry.Owner != rt.Id)
                throw new NativeException(Status.InvalidArgument, $"objects[{i}] belongs to another runtime");
            refs[i] = NewRef((ObjectEntry<byte[]>)entry.Target);
        }
        var result = rt.Runtime.Wait(refs, (int)numReturns, Timeout(timeoutMs));
        var ready = result.Ready;
        for (int i = 0, j = 0; i < refs.Length && j < ready.Count; i++)
        {
            if (!ReferenceEquals(refs[i], ready[j])) continue;
            if (outReady is not null) outReady[i] = 1;
            j++;
        }
        if (outNumReady is not null) *outNumReady = (nuint)ready.Count;
    }

    // An object handle holds the object's entry and one reference to it, which
    // ray_object_release gives back: no ObjectRef per handle, so no finalizer to register and
    // run for every put from C (a third of a small put's cost). Where C# APIs need an ObjectRef,
    // NewRef makes a temporary one with a reference of its own.

    /// <summary>A new handle for an object whose reference the handle takes over (released if this fails).</summary>
    internal static ulong AddObject(ObjectEntry<byte[]> entry, NativeRuntime owner)
    {
        try
        {
            var handle = Handles.Add(HandleKind.Object, entry, owner.Id);
            if (owner.IsShutdown && Handles.TryRemove(handle, HandleKind.Object, out _))
                throw new NativeException(Status.Shutdown, "the runtime was shut down");
            return handle;
        }
        catch
        {
            entry.Release();
            throw;
        }
    }

    /// <summary>A new handle taking over <paramref name="objectRef"/>'s reference (a task's result).</summary>
    internal static ulong AddObject(ObjectRef<byte[]> objectRef, NativeRuntime owner) =>
        AddObject((ObjectEntry<byte[]>)objectRef.Detach(), owner);

    /// <summary>The object behind a live object handle (the handle's reference keeps it).</summary>
    internal static ObjectEntry<byte[]> FindObject(ulong handle, out int owner)
    {
        var entry = Handles.Find(handle, HandleKind.Object);
        owner = entry.Owner;
        return (ObjectEntry<byte[]>)entry.Target;
    }

    /// <summary>A C# handle of the object with a reference of its own; dispose it after use.</summary>
    internal static ObjectRef<byte[]> NewRef(ObjectEntry<byte[]> entry)
    {
        if (!entry.TryAddRef())
            throw new NativeException(Status.InvalidHandle, "the object handle was released while this call was using it");
        return new ObjectRef<byte[]>(entry);
    }

    private static void CopyOut(ReadOnlySpan<byte> bytes, byte* buffer, nuint capacity, nuint* outSize)
    {
        if (outSize is not null) *outSize = (nuint)bytes.Length;
        if ((nuint)bytes.Length > capacity)
            throw new NativeException(Status.BufferTooSmall,
                $"the object has {bytes.Length} bytes but the buffer holds {capacity}; *out_size tells the size needed");
        bytes.CopyTo(new Span<byte>(buffer, bytes.Length));
    }
}
