using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Ray.Plasma.Store;

// Making room: eviction of unpinned objects, spilling of pinned ones, restore on get.
public sealed partial class PlasmaStore
{
    private int _spilledNow; // objects on disk now (kept, not counted on every Stats call)
    private long _evictions, _spillCount, _spilledBytes, _restoreCount, _restoredBytes;
    private double _spillSeconds, _restoreSeconds;
    private long _reclaimableVersion; // written under the lock

    /// <summary>
    /// Changes whenever an object becomes evictable or spillable (its last reference went) or
    /// leaves the store: a create or restore that found the store full may succeed after a change.
    /// </summary>
    internal long ReclaimableVersion => Volatile.Read(ref _reclaimableVersion);

    /// <summary>
    /// Allocates, evicting least-recently-used unpinned objects and then spilling the oldest
    /// pinned ones (neither while referenced) until the block fits.
    /// </summary>
    private long AllocateLocked(long size)
    {
        // Fail fast, before evicting or spilling anything, when even all of that could not make
        // a contiguous block this large (objects in use or being written split the arena).
        var need = ArenaAllocator.RoundUp(size);
        if (_allocator.LargestFree < need && LargestReclaimableRun(out var reclaimable) < need)
            throw new ObjectStoreFullException(size, _allocator.Capacity, _allocator.Capacity - reclaimable, _allocator.LargestFree);
        while (true)
        {
            if (_allocator.TryAllocate(size, out var offset)) return offset;
            if (_lru.First is { } victim)
            {
                Evict(victim.Value);
                continue;
            }
            if (_pinned.First is { } oldest)
            {
                if (ClaimedLocked(oldest.Value))
                {
                    // Its creator took the block back and went away before its Free came: nobody
                    // can read it (a Get does not find it), so it goes rather than to disk.
                    RemoveLocked(oldest.Value);
                    continue;
                }
                // A spill that fails (the spill disk is full, or unwritable) leaves the object in
                // memory and its file removed; what was spilled before stays on disk, readable.
                try { SpillLocked(oldest.Value); }
                catch (PlasmaException e) when (e.Status == PlasmaStatus.IoError)
                {
                    throw new ObjectStoreFullException(size, _allocator.Capacity, _allocator.Capacity - _allocator.FreeBytes, _allocator.LargestFree, e.Message);
                }
                continue;
            }
            var inUse = _allocator.Capacity - _allocator.FreeBytes;
            throw new ObjectStoreFullException(size, _allocator.Capacity, inUse, _allocator.LargestFree);
        }
    }

    /// <summary>
    /// The largest contiguous range that free space plus every evictable or spillable object
    /// would form, between objects that must stay (referenced or unsealed); and the total of
    /// free plus reclaimable bytes.
    /// </summary>
    private long LargestReclaimableRun(out long reclaimableTotal)
    {
        var blocks = new List<(long Offset, long Size, bool Reclaimable)>(_objects.Count);
        foreach (var e in _objects.Values)
            if (e.Offset >= 0) blocks.Add((e.Offset, ArenaAllocator.RoundUp(e.AllocationSize), e.LruNode is not null || e.PinnedNode is not null));
        AddRegionBlocks(blocks);
        blocks.Sort((x, y) => x.Offset.CompareTo(y.Offset));
        long best = 0, run = 0, cursor = 0;
        reclaimableTotal = _allocator.FreeBytes;
        foreach (var (offset, length, reclaimable) in blocks)
        {
            run += offset - cursor; // the free gap before this block
            if (reclaimable)
            {
                run += length;
                reclaimableTotal += length;
            }
            else
            {
                best = Math.Max(best, run);
                run = 0;
            }
            cursor = offset + length;
        }
        run += _allocator.Capacity - cursor;
        return Math.Max(best, run);
    }

    private void Evict(StoreEntry e)
    {
        RemoveLocked(e);
        _evictions++;
        Log.Evicted(_logger, e.Id, e.DataSize);
    }

    private unsafe void SpillLocked(StoreEntry e)
    {
        var path = System.IO.Path.Combine(SpillDirectory, e.Id + ".spill");
        var sw = Stopwatch.StartNew();
        try
        {
            TryDeleteFile(path); // a stale file keeps its mode: start afresh, private to this user
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, PreallocationSize = e.DataSize };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // 0600, as the arena
            using var stream = new FileStream(path, options);
            WriteAll(stream.SafeFileHandle, Arena.Base + e.DataOffset, e.DataSize);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDeleteFile(path);
            throw new PlasmaException(PlasmaStatus.IoError, $"spilling object {e.Id} ({e.DataSize} bytes) to {path} failed: {ex.Message}");
        }
        Untrack(e);
        _allocator.Free(e.Offset, e.AllocationSize);
        e.Offset = -1;
        e.InRegion = false; // its block is the store's again; a restore takes another
        e.State = EntryState.Spilled;
        _spilledNow++;
        e.SpillPath = path;
        _spillCount++;
        _spilledBytes += e.DataSize;
        _spillSeconds += sw.Elapsed.TotalSeconds;
        Log.Spilled(_logger, e.Id, e.DataSize, path);
    }

    private unsafe void RestoreLocked(StoreEntry e)
    {
        var sw = Stopwatch.StartNew();
        long offset;
        try { offset = AllocateLocked(HeaderSize + e.DataSize); }
        catch (ObjectStoreFullException full) when (full.SpillFailure is not null)
        {
            // A known limit: with memory and the spill disk both full, a spilled object cannot be
            // read until something is freed (its restore must spill another object first). Its
            // file stays; nothing is lost.
            throw new ObjectStoreFullException(full.RequestedBytes, full.CapacityBytes, full.InUseBytes, _allocator.LargestFree,
                $"{full.SpillFailure}. Object {e.Id} is spilled, and reading it back needs another object spilled first: " +
                "free an object (or space on the spill disk) and read it again");
        }
        try
        {
            using var file = File.OpenHandle(e.SpillPath!, FileMode.Open, FileAccess.Read, FileShare.Read);
            ReadAll(file, Arena.Base + offset + HeaderSize, e.DataSize);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _allocator.Free(offset, HeaderSize + e.DataSize);
            throw new PlasmaException(PlasmaStatus.IoError, $"restoring object {e.Id} from {e.SpillPath} failed: {ex.Message}");
        }
        e.Offset = offset;
        WriteHeader(e);
        TryDeleteFile(e.SpillPath!);
        e.SpillPath = null;
        e.State = EntryState.Sealed;
        _spilledNow--;
        e.Sequence = ++_sequence;
        _restoreCount++;
        _restoredBytes += e.DataSize;
        _restoreSeconds += sw.Elapsed.TotalSeconds;
        Log.Restored(_logger, e.Id, e.DataSize);
        Track(e);
    }

    private static unsafe void WriteAll(Microsoft.Win32.SafeHandles.SafeFileHandle file, byte* data, long length)
    {
        const int chunk = 64 << 20;
        for (long done = 0; done < length; done += chunk)
            RandomAccess.Write(file, new ReadOnlySpan<byte>(data + done, (int)Math.Min(chunk, length - done)), done);
    }

    private static unsafe void ReadAll(Microsoft.Win32.SafeHandles.SafeFileHandle file, byte* data, long length)
    {
        long done = 0;
        while (done < length)
        {
            var n = RandomAccess.Read(file, new Span<byte>(data + done, (int)Math.Min(64 << 20, length - done)), done);
            if (n <= 0) throw new IOException($"spill file ended after {done} of {length} bytes");
            done += n;
        }
    }

    private readonly bool _ownsSpillDirectory;

    // On dispose: this store's spill files, and the directory if the store made it (a directory
    // someone else gave keeps whatever else it holds).
    private void RemoveSpillFiles()
    {
        string[] files;
        lock (_lock) files = _objects.Values.Where(e => e.SpillPath is not null).Select(e => e.SpillPath!).ToArray();
        foreach (var f in files) TryDeleteFile(f);
        if (!_ownsSpillDirectory) return;
        try { System.IO.Directory.Delete(SpillDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static void TryDeleteFile(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Evicted object {Id} ({Size} bytes)")]
        public static partial void Evicted(ILogger logger, PlasmaObjectId id, long size);

        [LoggerMessage(2, LogLevel.Information, "Spilled object {Id} ({Size} bytes) to {Path}")]
        public static partial void Spilled(ILogger logger, PlasmaObjectId id, long size, string path);

        [LoggerMessage(3, LogLevel.Debug, "Restored object {Id} ({Size} bytes)")]
        public static partial void Restored(ILogger logger, PlasmaObjectId id, long size);
    }
}
