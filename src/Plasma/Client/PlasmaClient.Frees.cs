using Ray.Plasma.Server;
using Ray.Protocol;

namespace Ray.Plasma.Client;

// Frees (a view's Release, a one-way Delete) are batched: they wait in a list and go out as one
// Free frame in front of the next frame this client sends, when 256 are waiting, or 2 ms after
// the first, whichever comes first. Every frame goes out through Send, which sends the waiting
// frees first, under one lock: the store sees everything in the order this client did it (a
// Reclaim's answer after its releases, a create after the deletes that made room for it).
public sealed partial class PlasmaClient
{
    private const int MaxBatchedFrees = 256;
    private static readonly TimeSpan FreeDelay = TimeSpan.FromMilliseconds(2);

    /// <summary>Free entries: release one reference of this client's, delete, or both (in that order); with both, claimed (PlasmaClient.Claims.cs).</summary>
    [Flags]
    internal enum FreeOps : byte { Release = 1, Delete = 2, Claimed = 4 }

    private readonly Lock _sendLock = new();
    private readonly List<(PlasmaObjectId Id, FreeOps Ops)> _frees = new();
    private Timer? _freeTimer;

    /// <summary>Queues a free; sent with the next frame, a full batch, or within 2 ms.</summary>
    private void QueueFree(PlasmaObjectId id, FreeOps ops, PlasmaBuffer? view = null)
    {
        if (_connection.CloseReason is not null) return; // the store released everything of ours already
        bool arm;
        lock (_sendLock)
        {
            if (!TryClaimLocked(id, ops, view)) _frees.Add((id, ops));
            if (_frees.Count >= MaxBatchedFrees)
            {
                FlushFreesLocked();
                return;
            }
            arm = _frees.Count == 1;
        }
        if (arm)
        {
            var timer = Volatile.Read(ref _freeTimer);
            if (timer is null)
            {
                timer = new Timer(static s => ((PlasmaClient)s!).FlushFrees(), this, Timeout.Infinite, Timeout.Infinite);
                if (Interlocked.CompareExchange(ref _freeTimer, timer, null) is { } other) { timer.Dispose(); timer = other; }
            }
            try { timer.Change(FreeDelay, Timeout.InfiniteTimeSpan); }
            catch (ObjectDisposedException) { /* closing */ }
        }
    }

    private void FlushFrees()
    {
        lock (_sendLock) FlushFreesLocked();
    }

    private void FlushFreesLocked()
    {
        if (_frees.Count == 0) return;
        var payload = new byte[4 + _frees.Count * 17];
        var b = new PayloadBuilder(payload);
        b.U32((uint)_frees.Count);
        foreach (var (id, ops) in _frees)
        {
            b.U64(id.Owner);
            b.U64(id.Sequence);
            b.U8((byte)ops);
        }
        _frees.Clear();
        _freeBatches++; // a claim needs both its halves in one batch
        _connection.Send((ushort)PlasmaMessageKind.Free, FrameFlags.NoReply, NextId(), payload);
    }

    /// <summary>Sends a frame behind the frees waiting; false when the connection is closing.</summary>
    private bool Send(PlasmaMessageKind kind, FrameFlags flags, ulong requestId, ReadOnlySpan<byte> payload)
    {
        lock (_sendLock)
        {
            FlushFreesLocked();
            return _connection.Send((ushort)kind, flags, requestId, payload);
        }
    }

    private bool Send(in OutFrame frame)
    {
        lock (_sendLock)
        {
            FlushFreesLocked();
            return _connection.Send(frame);
        }
    }
}
