namespace Ray.Plasma.Store;

/// <summary>
/// A client's recycle mailbox: a ring in the shared arena through which the store hands the
/// client blocks recycled to it, with no message and no wake-up (the client looks at each create).
/// One writer each way: the store alone writes entries and the published count (under its lock),
/// the client alone writes the consumed count. A count is written after what it covers
/// (release) and read before it (acquire). The store's own record of what it recycled stays in
/// managed memory; the mailbox only tells the client, which checks each entry's shape. Layout:
/// <c>u64 published</c> at 0, <c>u64 claims applied</c> at 8 (the store's count of Frees of
/// claimed blocks it applied, by which the client paces its claims), <c>u64 consumed</c> at 64
/// (own cache lines), then
/// <see cref="Capacity"/> entries of <c>i64 offset, i64 length</c> from 128, entry n at n mod capacity.
/// </summary>
internal static unsafe class RecycleMailbox
{
    /// <summary>Bytes a mailbox takes in the arena.</summary>
    internal const long Bytes = 8192;

    private const int ClaimsAppliedAt = 8;
    private const int ConsumedAt = 64;
    private const int EntriesAt = 128;
    private const int EntrySize = 16;

    /// <summary>Entries a mailbox holds that the client has not taken yet.</summary>
    internal const int Capacity = (int)((Bytes - EntriesAt) / EntrySize);

    /// <summary>Sets both counts to zero (a new mailbox, in memory that held anything before).</summary>
    internal static void Reset(byte* box)
    {
        Volatile.Write(ref *(long*)box, 0);
        Volatile.Write(ref *(long*)(box + ClaimsAppliedAt), 0);
        Volatile.Write(ref *(long*)(box + ConsumedAt), 0);
    }

    /// <summary>The store's side: the count of Frees of claimed blocks applied.</summary>
    internal static void SetClaimsApplied(byte* box, long applied) => Volatile.Write(ref *(long*)(box + ClaimsAppliedAt), applied);

    /// <summary>The client's side: the count of Frees of claimed blocks the store applied.</summary>
    internal static long ClaimsApplied(byte* box) => Volatile.Read(ref *(long*)(box + ClaimsAppliedAt));

    /// <summary>
    /// The store's side: publishes entry number <paramref name="published"/> when the client has
    /// room; false when the ring is full (or the client's count makes no sense: treated as full).
    /// </summary>
    internal static bool TryPublish(byte* box, long published, long offset, long length)
    {
        var consumed = Volatile.Read(ref *(long*)(box + ConsumedAt));
        if (consumed > published || published - consumed >= Capacity) return false;
        var entry = (long*)(box + EntriesAt + published % Capacity * EntrySize);
        entry[0] = offset;
        entry[1] = length;
        Volatile.Write(ref *(long*)box, published + 1);
        return true;
    }

    /// <summary>
    /// The client's side: takes every entry published since <paramref name="consumed"/> into
    /// <paramref name="into"/> and tells the store; returns the new consumed count, or -1 when
    /// the published count makes no sense (then nothing is taken).
    /// </summary>
    internal static long Take(byte* box, long consumed, List<(long Offset, long Length)> into)
    {
        var published = Volatile.Read(ref *(long*)box);
        if (published == consumed) return consumed;
        if (published < consumed || published - consumed > Capacity) return -1;
        for (var n = consumed; n < published; n++)
        {
            var entry = (long*)(box + EntriesAt + n % Capacity * EntrySize);
            into.Add((entry[0], entry[1]));
        }
        Volatile.Write(ref *(long*)(box + ConsumedAt), published);
        return published;
    }
}
