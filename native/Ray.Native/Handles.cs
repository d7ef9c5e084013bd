namespace Ray.Native;

/// <summary>What a handle refers to; the top byte of every handle.</summary>
internal enum HandleKind : byte
{
    Runtime = 1,
    Object = 2,
    View = 3,
    Output = 4,
}

/// <summary>A live handle's contents, as <see cref="Handles.Find"/> and <see cref="Handles.Remove"/> return them.</summary>
internal readonly struct HandleEntry(HandleKind kind, object target, nint aux, int owner)
{
    /// <summary>What the handle was.</summary>
    internal HandleKind Kind { get; } = kind;

    /// <summary>The C# object behind the handle.</summary>
    internal object Target { get; } = target;

    /// <summary>A native word stored with the handle (a view's data pointer).</summary>
    internal nint Aux { get; } = aux;

    /// <summary>The id of the runtime that owns the handle (0: none).</summary>
    internal int Owner { get; } = owner;
}

/// <summary>
/// The process-wide table behind every handle given to C. A handle is
/// <c>kind (8 bits) | generation (24 bits) | slot + 1 (32 bits)</c>: 0 is never valid, a handle of
/// the wrong kind is refused, and a released handle is refused because its slot is free or holds
/// a later generation (a slot must be reused 16 million times before a stale handle matches
/// again). Everything is lock-free and allocation-free: a slot's tag (the live handle, or its
/// generation while free) is the single word that decides who owns it; a lookup reads the tag,
/// the target, then the tag again; add and remove are a compare-and-swap on a tagged free list
/// and on the slot's tag. Slots live in fixed chunks that never move.
/// </summary>
internal static class Handles
{
    private const int ChunkBits = 14;
    private const int ChunkSize = 1 << ChunkBits;
    private const int ChunkMask = ChunkSize - 1;
    private const int MaxChunks = 1024; // 16 M live handles
    private const uint GenerationMask = 0xFF_FFFF;

    // One slot per handle, its fields side by side (one cache line for a lookup).
    private struct Slot
    {
        internal ulong Tag;       // live: the handle; free: generation << 32 (kind 0 matches no handle)
        internal object? Target;
        internal nint Aux;
        internal int Owner;
        internal int Next;        // free-list link (slot index, -1 = end)
    }

    private static readonly Slot[]?[] s_chunks = new Slot[]?[MaxChunks];
    private static readonly object s_growLock = new();
    private static ulong s_freeHead; // (pop count << 32) | (slot + 1); 0 = empty
    private static int s_next;       // slots ever handed out

    internal static ulong Add(HandleKind kind, object target, int owner = 0, nint aux = 0)
    {
        var index = Pop();
        var chunk = s_chunks[index >> ChunkBits]!;
        var i = index & ChunkMask;
        ref var slot = ref chunk[i];
        var generation = ((uint)(slot.Tag >> 32) + 1) & GenerationMask;
        if (generation == 0) generation = 1;
        slot.Target = target;
        slot.Aux = aux;
        slot.Owner = owner;
        var handle = ((ulong)kind << 56) | ((ulong)generation << 32) | (uint)(index + 1);
        Volatile.Write(ref slot.Tag, handle); // publishes the fields above
        return handle;
    }

    /// <summary>Reads the live handle's entry; false when it is not live (unknown, of another kind, released).</summary>
    internal static bool TryFind(ulong handle, HandleKind kind, out HandleEntry entry)
    {
        entry = default;
        if (!Locate(handle, kind, out var chunk, out var i)) return false;
        ref var slot = ref chunk[i];
        if (Volatile.Read(ref slot.Tag) != handle) return false;
        var target = Volatile.Read(ref slot.Target);
        var aux = slot.Aux;
        var owner = slot.Owner;
        if (target is null || Volatile.Read(ref slot.Tag) != handle) return false;
        entry = new HandleEntry(kind, target, aux, owner);
        return true;
    }

    /// <summary>
    /// Frees the handle and returns what it held; false when it is not live. Of two threads
    /// releasing one handle, exactly one gets the entry.
    /// </summary>
    internal static bool TryRemove(ulong handle, HandleKind kind, out HandleEntry entry)
    {
        entry = default;
        if (!Locate(handle, kind, out var chunk, out var i)) return false;
        var freeTag = handle & ((ulong)GenerationMask << 32); // keeps the generation, kind 0: matches no handle
        ref var slot = ref chunk[i];
        if (Interlocked.CompareExchange(ref slot.Tag, freeTag, handle) != handle) return false;
        entry = new HandleEntry(kind, slot.Target!, slot.Aux, slot.Owner);
        slot.Target = null;
        slot.Aux = 0;
        slot.Owner = 0;
        Push((int)((uint)handle - 1));
        return true;
    }

    internal static HandleEntry Find(ulong handle, HandleKind kind) =>
        TryFind(handle, kind, out var e) ? e : throw Invalid(handle, kind);

    internal static HandleEntry Remove(ulong handle, HandleKind kind) =>
        TryRemove(handle, kind, out var e) ? e : throw Invalid(handle, kind);

    /// <summary>Frees every handle owned by <paramref name="owner"/> and returns what they held (shutdown).</summary>
    internal static List<HandleEntry> RemoveAll(int owner)
    {
        var removed = new List<HandleEntry>();
        var count = Volatile.Read(ref s_next);
        for (var index = 0; index < count; index++)
        {
            var chunk = Volatile.Read(ref s_chunks[index >> ChunkBits]);
            if (chunk is null) continue;
            var i = index & ChunkMask;
            var tag = Volatile.Read(ref chunk[i].Tag);
            if ((tag >> 56) == 0 || chunk[i].Owner != owner) continue;
            if (TryRemove(tag, (HandleKind)(tag >> 56), out var entry)) removed.Add(entry);
        }
        return removed;
    }

    /// <summary>Live handles (a scan: for tests and leak checks, not for hot paths).</summary>
    internal static int LiveCount
    {
        get
        {
            var live = 0;
            var count = Volatile.Read(ref s_next);
            for (var index = 0; index < count; index++)
            {
                var chunk = Volatile.Read(ref s_chunks[index >> ChunkBits]);
                if (chunk is not null && (Volatile.Read(ref chunk[index & ChunkMask].Tag) >> 56) != 0) live++;
            }
            return live;
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool Locate(ulong handle, HandleKind kind, out Slot[] chunk, out int i)
    {
        chunk = null!;
        i = 0;
        if ((HandleKind)(handle >> 56) != kind) return false;
        var slot = (uint)handle;
        if (slot == 0 || slot > MaxChunks * ChunkSize) return false;
        var index = (int)(slot - 1);
        var c = Volatile.Read(ref s_chunks[index >> ChunkBits]);
        if (c is null) return false;
        chunk = c;
        i = index & ChunkMask;
        return true;
    }

    private static int Pop()
    {
        while (true)
        {
            var head = Volatile.Read(ref s_freeHead);
            var top = (int)(uint)head - 1;
            if (top < 0) return Fresh();
            var next = s_chunks[top >> ChunkBits]![top & ChunkMask].Next;
            var newHead = (((head >> 32) + 1) << 32) | (uint)(next + 1);
            if (Interlocked.CompareExchange(ref s_freeHead, newHead, head) == head) return top;
        }
    }

    private static void Push(int index)
    {
        var chunk = s_chunks[index >> ChunkBits]!;
        while (true)
        {
            var head = Volatile.Read(ref s_freeHead);
            chunk[index & ChunkMask].Next = (int)(uint)head - 1;
            var newHead = (((head >> 32) + 1) << 32) | (uint)(index + 1);
            if (Interlocked.CompareExchange(ref s_freeHead, newHead, head) == head) return;
        }
    }

    // A slot never handed out before; its chunk is created on first use.
    private static int Fresh()
    {
        var index = Interlocked.Increment(ref s_next) - 1;
        if (index >= MaxChunks * ChunkSize)
        {
            Interlocked.Decrement(ref s_next);
            throw new NativeException(Status.Internal, $"too many live handles ({index}); release objects and views you no longer need");
        }
        var c = index >> ChunkBits;
        if (Volatile.Read(ref s_chunks[c]) is null)
            lock (s_growLock)
                if (s_chunks[c] is null) Volatile.Write(ref s_chunks[c], new Slot[ChunkSize]);
        return index;
    }

    /// <summary>"an object handle", "a view handle", ... for error messages.</summary>
    internal static string Describe(HandleKind kind) => kind switch
    {
        HandleKind.Runtime => "a runtime handle",
        HandleKind.Object => "an object handle",
        HandleKind.View => "a view handle",
        HandleKind.Output => "a function output handle",
        _ => "not a handle of this library",
    };

    /// <summary>The error for a handle that is not live: which kind it is, or why it is refused.</summary>
    internal static NativeException Invalid(ulong handle, HandleKind expected)
    {
        var what = Describe(expected);
        if (handle == 0)
            return new NativeException(Status.InvalidHandle, $"{what} is required, got 0 (the null handle)");
        var actual = (HandleKind)(handle >> 56);
        if (actual != expected && actual is >= HandleKind.Runtime and <= HandleKind.Output)
            return new NativeException(Status.InvalidHandle, $"handle 0x{handle:x16} is {Describe(actual)}, not {what}");
        return new NativeException(Status.InvalidHandle,
            $"handle 0x{handle:x16} is not a live {what[(what.IndexOf(' ') + 1)..]}: unknown, already released, or its runtime was shut down");
    }
}
