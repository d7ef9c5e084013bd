using Ray.Plasma.Server;
using Ray.Plasma.Store;
using Ray.Protocol;

namespace Ray.Plasma.Client;

// Regions: creates without a round trip. The store grants this client a region of the arena;
// objects that fit are reserved in it here (a bump of a cursor), written, and sealed with one
// one-way message. The store learns of an object only at its seal (docs/PROTOCOL.md, "Regions").
//
// 1. The first create asks for a region (a round trip); as soon as one is in use, the next is
//    asked for in the background, so a steady stream of creates does not wait for one.
// 2. A region that cannot fit the next object is closed: once its last writer sealed or aborted,
//    a RetireRegion gives what is left of it back (after every seal in it, on the same connection).
// 3. When the store refuses a region (full), creates go one by one (a Create request, which
//    evicts, spills and reclaims) for a while before asking again.
// 4. A Reclaim from the store gives back what is left of every region too.
public sealed partial class PlasmaClient
{
    private static readonly TimeSpan GrantBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan GrantWait = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Regions granted ahead of need. Two: a grant's round trip crosses thread-pool hops in both
    /// processes (a millisecond and more on a loaded machine), longer than a region's puts take.
    /// With the active one and one closing (its last writers finishing), the store's limit of four.
    /// </summary>
    private const int SpareRegions = 2;

    private readonly Lock _regionLock = new();
    private long _regionSize; // 0: regions off
    private ClientRegion? _active;
    private readonly Queue<ClientRegion> _spares = new(); // granted ahead, used in order
    private bool _granting;
    private TaskCompletionSource? _grantDone; // set while a background grant is in flight, completed once it is settled
    private long _noGrantUntil; // Environment.TickCount64

    /// <summary>
    /// Turns on creates without a round trip: objects up to a quarter of
    /// <paramref name="regionBytes"/> are reserved in a region of the arena the store granted this
    /// client, and sealed with a one-way message. Ids must be new: a seal of an id the store
    /// holds already is refused, and the store then closes this connection.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Smaller than the store's smallest region, or over a quarter of the arena.</exception>
    public void UseRegions(long regionBytes)
    {
        if (regionBytes < PlasmaStore.MinRegionBytes || regionBytes > Arena.Capacity / 4)
            throw new ArgumentOutOfRangeException(nameof(regionBytes), regionBytes,
                $"a region is {PlasmaStore.MinRegionBytes} bytes to a quarter of the arena ({Arena.Capacity / 4} bytes)");
        Volatile.Write(ref _regionSize, ArenaAllocator.RoundUp(regionBytes));
    }

    /// <summary>The largest object created in a region (0 with regions off); larger ones take a Create request.</summary>
    public long RegionObjectLimit => Volatile.Read(ref _regionSize) / 4;

    /// <summary>Regions this client holds and has not retired (active and spare; closing ones are not counted).</summary>
    internal int OpenRegions
    {
        get { lock (_regionLock) return (_active is null ? 0 : 1) + _spares.Count; }
    }

    private unsafe PlasmaWriteBuffer? TryCreateInRegion(PlasmaObjectId id, long dataSize, uint typeTag, bool pinned)
    {
        var regionSize = Volatile.Read(ref _regionSize);
        if (regionSize == 0 || dataSize < 0 || dataSize > regionSize / 4) return null;
        var need = ArenaAllocator.RoundUp(PlasmaStore.HeaderSize + dataSize);
        PaceClaims();
        var slot = TryTakeRecycled(need, typeTag, pinned) ?? TryReserve(need, typeTag, pinned);
        if (slot is null && Volatile.Read(ref _grantDone)?.Task is { } inFlight)
        {
            // The next region is on its way: waiting for it costs less than asking again.
            // Completed by the receive loop, never by a continuation of this caller.
            inFlight.Wait(GrantWait);
            slot = TryReserve(need, typeTag, pinned);
        }
        if (slot is null)
        {
            if (Environment.TickCount64 < Volatile.Read(ref _noGrantUntil) || !GrantNow(regionSize)) return null;
            slot = TryReserve(need, typeTag, pinned);
            if (slot is null) return null;
        }
        BlockClaim.MarkUnshared(Arena.Base + slot.Start, id); // the store's Gets and our claim meet there
        return new PlasmaWriteBuffer(this, id, Arena.Base + slot.DataOffset, dataSize, slot);
    }

    /// <summary>A block in the active region (or the spare, once the active one is full); null when neither has room.</summary>
    private RegionSlot? TryReserve(long need, uint typeTag, bool pinned)
    {
        ClientRegion? retire = null;
        RegionSlot? slot = null;
        var prefetch = false;
        long prefetchSize = 0;
        lock (_regionLock)
        {
            if (_active is null || !_active.TryTake(need, out var start))
            {
                if (_active is not null) retire = CloseLocked(_active);
                _active = _spares.TryDequeue(out var next) ? next : null;
                if (_active is null || !_active.TryTake(need, out start)) start = -1;
            }
            if (start >= 0)
            {
                _active!.Writers++;
                slot = new RegionSlot(_active, start, need, typeTag, pinned);
                // The next region is asked for as soon as this one is in use: a whole region's
                // puts to arrive in, so a steady stream of puts never waits for one.
                prefetch = _spares.Count < SpareRegions && !_granting && Environment.TickCount64 >= _noGrantUntil;
                if (prefetch)
                {
                    _granting = true;
                    _grantDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    prefetchSize = _active.Size;
                }
            }
        }
        if (retire is not null) Retire(retire);
        if (prefetch) GrantInBackground(prefetchSize);
        return slot;
    }

    // Closes a region to new blocks; returns it when it can be retired now (no writer left in it).
    private static ClientRegion? CloseLocked(ClientRegion region)
    {
        region.Closed = true;
        if (region.Writers != 0 || region.Retired) return null;
        region.Retired = true;
        return region;
    }

    private bool GrantNow(long size)
    {
        ClientRegion region;
        try { region = DecodeRegion(Request(PlasmaMessageKind.GrantRegion, BitConverter.GetBytes(size))); }
        catch (PlasmaException)
        {
            Volatile.Write(ref _noGrantUntil, Environment.TickCount64 + (long)GrantBackoff.TotalMilliseconds);
            return false; // full, or at the limit: one by one for a while
        }
        Adopt(region);
        return true;
    }

    private void GrantInBackground(long size)
    {
        RequestAsync(PlasmaMessageKind.GrantRegion, BitConverter.GetBytes(size)).ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully) Adopt(DecodeRegion(t.Result), granting: true);
            else
            {
                _ = t.Exception; // observed: a refusal means one by one for a while
                Volatile.Write(ref _noGrantUntil, Environment.TickCount64 + (long)GrantBackoff.TotalMilliseconds);
                EndGrant();
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void EndGrant()
    {
        TaskCompletionSource? done;
        lock (_regionLock)
        {
            _granting = false;
            done = _grantDone;
            _grantDone = null;
        }
        done?.TrySetResult();
    }

    // A granted region becomes the active one, or the spare; with both taken (another thread's
    // grant came first) it goes back at once.
    private void Adopt(ClientRegion region, bool granting = false)
    {
        var extra = false;
        lock (_regionLock)
        {
            if (_active is null) _active = region;
            else if (_spares.Count < SpareRegions) _spares.Enqueue(region);
            else extra = true;
        }
        if (extra) Retire(region);
        if (granting) EndGrant();
    }

    private static ClientRegion DecodeRegion(byte[] reply) => new(BitConverter.ToInt64(reply), BitConverter.ToInt64(reply, 8));

    private PlasmaBuffer? SealInRegion(PlasmaWriteBuffer buffer, RegionSlot slot, bool keepReference)
    {
        Span<byte> p = stackalloc byte[16 + 8 + 8 + 4 + 1];
        var b = new PayloadBuilder(p);
        b.U64(buffer.Id.Owner); b.U64(buffer.Id.Sequence); b.I64(slot.DataOffset); b.I64(buffer.Length); b.U32(slot.TypeTag);
        b.U8((byte)((slot.Pinned ? 1 : 0) | (keepReference ? 2 : 0)));
        // The view exists before the seal is sent: a close that races with it invalidates it.
        var view = keepReference ? NewView(new PlasmaObjectInfo(buffer.Id, slot.DataOffset, buffer.Length, slot.TypeTag)) : null;
        var sent = _connection.CloseReason is null && Send(PlasmaMessageKind.SealInRegion, FrameFlags.NoReply, NextId(), b.Written);
        FinishWriter(slot.Region); // after the seal is queued: a retire of this region goes behind it
        if (sent)
        {
            if (view is not null) TrackClaimable(buffer.Id, slot, view);
            return view;
        }
        if (view is not null) _views.Remove(view);
        view?.Invalidate();
        throw Disconnected(_connection.CloseReason ?? "closed");
    }

    private void AbortInRegion(RegionSlot slot)
    {
        if (slot.Region is null)
        {
            GiveBackRecycled(slot); // still ours: back to the pool
            return;
        }
        lock (_regionLock) slot.Region.GiveBack(slot.Start, slot.Length); // the last block goes back; others wait for the retire
        FinishWriter(slot.Region);
    }

    private void FinishWriter(ClientRegion? region)
    {
        if (region is null) return; // a recycled block: no region to retire
        bool retire;
        lock (_regionLock)
        {
            region.Writers--;
            retire = region.Closed && region.Writers == 0 && !region.Retired;
            if (retire) region.Retired = true;
        }
        if (retire) Retire(region);
    }

    /// <summary>Gives back what is left of every region (a Reclaim): the spare now, the active one when its writers are done; and every recycled block not in use.</summary>
    private void ReturnRegions()
    {
        ClientRegion[] spares;
        ClientRegion? active;
        lock (_regionLock)
        {
            spares = _spares.ToArray();
            _spares.Clear();
            foreach (var spare in spares) spare.Retired = true;
            active = _active is null ? null : CloseLocked(_active);
            _active = null;
        }
        foreach (var spare in spares) Retire(spare);
        if (active is not null) Retire(active);
        ReturnAllRecycled();
    }

    private void Retire(ClientRegion region)
    {
        if (_connection.CloseReason is not null) return; // the store took back everything of ours
        Span<byte> p = stackalloc byte[8];
        BitConverter.TryWriteBytes(p, region.Offset);
        Send(PlasmaMessageKind.RetireRegion, FrameFlags.NoReply, NextId(), p);
    }

    /// <summary>A region granted to this client; guarded by the client's region lock.</summary>
    private sealed class ClientRegion(long offset, long size)
    {
        private long _cursor;

        internal long Offset { get; } = offset;
        internal long Size { get; } = size;
        internal long Left => Size - _cursor;
        /// <summary>Blocks reserved and not yet sealed or aborted.</summary>
        internal int Writers { get; set; }
        /// <summary>No new blocks; retired when its last writer is done.</summary>
        internal bool Closed { get; set; }
        internal bool Retired { get; set; }

        internal bool TryTake(long need, out long start)
        {
            start = -1;
            if (Closed || need > Size - _cursor) return false;
            start = Offset + _cursor;
            _cursor += need;
            return true;
        }

        /// <summary>An aborted block: reusable only when it was the last one taken.</summary>
        internal void GiveBack(long start, long length)
        {
            if (start + length == Offset + _cursor) _cursor -= length;
        }
    }

    /// <summary>A block reserved in a region (or in a recycled block: no region): header at <see cref="Start"/>, data 64 bytes on.</summary>
    private sealed class RegionSlot(ClientRegion? region, long start, long length, uint typeTag, bool pinned)
    {
        internal ClientRegion? Region { get; } = region;
        internal long Start { get; } = start;
        internal long Length { get; } = length;
        internal long DataOffset => Start + PlasmaStore.HeaderSize;
        internal uint TypeTag { get; } = typeTag;
        internal bool Pinned { get; } = pinned;
    }
}
