using System.Buffers;
using Ray.Plasma.Server;
using Ray.Plasma.Store;
using Ray.Protocol;

namespace Ray.Plasma.Client;

// Recycled blocks: when this client's own Free removes an object it sealed in one of its
// regions, the store keeps the block for it and publishes it in this client's recycle mailbox,
// a ring in the arena (the store names it once, in a Mailbox frame). Each create here first
// takes what the mailbox holds into a pool, then the block recycled last that fits (its memory
// is the most likely still in the CPU's cache), before any region space. The store decides: a
// block comes back only once no other client holds the object (and this client released it),
// so nothing anyone still reads is ever written over (docs/PROTOCOL.md, "Recycled blocks").
public sealed partial class PlasmaClient
{
    /// <summary>
    /// Blocks the pool keeps; more (the oldest first) go back to the store. The store bounds the
    /// bytes (PlasmaStore.RecycledRegions times the client's largest region); this bounds the
    /// pieces a mix of sizes leaves.
    /// </summary>
    private const int MaxPooledBlocks = 128;

    /// <summary>How deep a create looks into the pool (from the block recycled last) for one that fits.</summary>
    private const int PoolSearchDepth = 16;

    private const int BlockEntrySize = 16; // i64 offset, i64 length

    private readonly List<(long Start, long Length)> _pool = new(); // guarded by _regionLock; last = recycled last
    private long _mailbox = -1; // offset in the arena; guarded by _regionLock
    private long _mailboxTaken; // entries taken from it

    /// <summary>Recycled blocks waiting here now, and their bytes.</summary>
    internal (int Blocks, long Bytes) Pooled
    {
        get
        {
            lock (_regionLock)
            {
                long bytes = 0;
                foreach (var (_, length) in _pool) bytes += length;
                return (_pool.Count, bytes);
            }
        }
    }

    /// <summary>A block in a recycled one that fits; what is left of that stays in the pool.</summary>
    private RegionSlot? TryTakeRecycled(long need, uint typeTag, bool pinned)
    {
        List<(long, long)>? surplus;
        RegionSlot? slot = null;
        lock (_regionLock)
        {
            surplus = TakeMailboxLocked();
            var stop = Math.Max(0, _pool.Count - PoolSearchDepth);
            for (var i = _pool.Count - 1; i >= stop; i--)
            {
                var (start, length) = _pool[i];
                if (length < need) continue;
                if (length == need) _pool.RemoveAt(i);
                else _pool[i] = (start + need, length - need);
                slot = new RegionSlot(null, start, need, typeTag, pinned);
                break;
            }
        }
        if (surplus is not null) ReturnBlocks(surplus);
        return slot;
    }

    // Under the region lock: what the mailbox holds goes to the pool; blocks beyond the pool's
    // limit (the oldest) are returned to be sent back.
    private unsafe List<(long, long)>? TakeMailboxLocked()
    {
        if (_mailbox < 0) return null;
        var before = _pool.Count;
        var taken = RecycleMailbox.Take(Arena.Base + _mailbox, _mailboxTaken, _pool);
        if (taken < 0)
        {
            // The count in shared memory was overwritten: this client stops looking (the blocks
            // the store holds for it come back when it disconnects).
            _mailbox = -1;
            return null;
        }
        _mailboxTaken = taken;
        var capacity = Arena.Capacity;
        for (var i = before; i < _pool.Count; i++)
        {
            var (offset, length) = _pool[i];
            if (offset < 0 || length <= 0 || offset > capacity - length || offset % ArenaAllocator.Alignment != 0 || length % ArenaAllocator.Alignment != 0)
            {
                _pool.RemoveRange(before, _pool.Count - before); // overwritten in shared memory: not believed
                _mailbox = -1;
                return null;
            }
        }
        if (_pool.Count <= MaxPooledBlocks) return null;
        var surplus = _pool.GetRange(0, _pool.Count - MaxPooledBlocks);
        _pool.RemoveRange(0, surplus.Count);
        return surplus;
    }

    // An aborted create in a recycled block: the block is still this client's.
    private void GiveBackRecycled(RegionSlot slot)
    {
        lock (_regionLock) _pool.Add((slot.Start, slot.Length));
    }

    // On the receive loop: the store opened this client's mailbox (once).
    private void OnMailbox(in Frame frame)
    {
        var r = new PayloadReader(frame.Payload, frame.Header.Kind);
        var offset = r.I64();
        var entries = r.U32();
        r.End();
        if (entries != RecycleMailbox.Capacity || offset < 0 || offset > Arena.Capacity - RecycleMailbox.Bytes || offset % ArenaAllocator.Alignment != 0)
            throw new ProtocolException($"the store named a recycle mailbox at {offset} of {entries} entries; this client reads {RecycleMailbox.Capacity} in {RecycleMailbox.Bytes} bytes");
        lock (_regionLock)
        {
            if (_mailbox >= 0 || _mailboxTaken != 0) throw new ProtocolException("the store named a second recycle mailbox");
            _mailbox = offset;
        }
    }

    /// <summary>Every recycled block not in use back to the store (a Reclaim); blocks being written stay until sealed.</summary>
    private void ReturnAllRecycled()
    {
        List<(long, long)> all;
        lock (_regionLock)
        {
            all = TakeMailboxLocked() ?? new List<(long, long)>(_pool.Count);
            all.AddRange(_pool);
            _pool.Clear();
            if (all.Count == 0) return;
        }
        ReturnBlocks(all);
    }

    private void ReturnBlocks(List<(long Offset, long Length)> blocks)
    {
        if (_connection.CloseReason is not null) return; // the store took back everything of ours
        const int perFrame = (PlasmaProtocol.MaxPayload - 4) / BlockEntrySize;
        for (var first = 0; first < blocks.Count; first += perFrame)
        {
            var n = Math.Min(perFrame, blocks.Count - first);
            var size = 4 + n * BlockEntrySize;
            var payload = ArrayPool<byte>.Shared.Rent(size);
            var b = new PayloadBuilder(payload.AsSpan(0, size));
            b.U32((uint)n);
            for (var i = first; i < first + n; i++)
            {
                b.I64(blocks[i].Offset);
                b.I64(blocks[i].Length);
            }
            Send(PlasmaMessageKind.ReturnBlocks, FrameFlags.NoReply, NextId(), b.Written);
            ArrayPool<byte>.Shared.Return(payload);
        }
    }
}
