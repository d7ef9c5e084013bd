using Ray.Plasma.Native;
using System.Diagnostics;

namespace Ray.Gpu.Collectives.SharedMemory;

/// <summary>The rendezvous: create or open the segment by name, claim a slot, wait for every rank.</summary>
internal sealed unsafe partial class ShmSegment
{
    /// <summary>
    /// Joins the group's segment as <paramref name="rank"/> (rank 0 creates it) and returns once all
    /// <paramref name="worldSize"/> ranks have joined.
    /// </summary>
    public static ShmSegment Join(string groupName, string directory, int worldSize, int rank, long ringBytes, TimeSpan timeout)
    {
        string path = System.IO.Path.Combine(directory, "ray-collective-" + Sanitize(groupName));
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        ShmSegment segment = rank == 0
            ? Create(groupName, path, worldSize, ringBytes)
            : Open(groupName, path, worldSize, ringBytes, deadline);
        try
        {
            if (rank != 0)
            {
                segment.Claim(groupName, rank); // rank 0 claimed its slot before publishing the file
            }

            segment.WaitAllJoined(groupName, rank, deadline);
            if (rank == 0)
            {
                Libc.Unlink(path); // every rank has it mapped; nothing is left behind after a crash
            }

            return segment;
        }
        catch
        {
            segment.Dispose();
            throw;
        }
    }

    private static ShmSegment Create(string groupName, string path, int worldSize, long ringBytes)
    {
        long total = TotalBytes(worldSize, ringBytes);
        string temporary = $"{path}.{Environment.ProcessId}.tmp";
        Libc.Unlink(temporary);
        int fd = Libc.Open(temporary, Libc.O_RDWR | Libc.O_CREAT | Libc.O_EXCL, 384 /* 0600 */);
        if (fd < 0)
        {
            throw new IOException($"Cannot create collective segment '{temporary}': {Libc.LastError()}");
        }

        try
        {
            if (Libc.Ftruncate(fd, total) != 0)
            {
                throw new IOException($"Cannot size collective segment '{temporary}' to {total} bytes: {Libc.LastError()}");
            }

            var segment = Map(fd, total, worldSize, ringBytes, path);
            byte* b = segment._base;
            *(int*)(b + 8) = 1;
            *(int*)(b + 12) = worldSize;
            *(long*)(b + 16) = ringBytes;
            *(long*)(b + 24) = total;
            segment.Claim(groupName, 0); // before the rename: openers take a segment whose creator is dead for stale
            Volatile.Write(ref segment.MagicField, Magic);
            if (ShmNative.Rename(temporary, path) != 0)
            {
                segment.Dispose();
                throw new IOException($"Cannot publish collective segment '{path}': {Libc.LastError()}");
            }

            return segment;
        }
        finally
        {
            Libc.Close(fd);
            Libc.Unlink(temporary);
        }
    }

    private static ShmSegment Open(string groupName, string path, int worldSize, long ringBytes, long deadline)
    {
        while (true)
        {
            int fd = Libc.Open(path, Libc.O_RDWR, 0);
            if (fd >= 0)
            {
                try
                {
                    long length = new FileInfo(path).Length;
                    if (length >= SlotsOffset)
                    {
                        ShmSegment? segment = TryValidate(groupName, fd, length, worldSize, ringBytes, path);
                        if (segment is not null)
                        {
                            return segment;
                        }
                    }
                }
                catch (FileNotFoundException)
                {
                    // Unlinked between open and stat: a stale segment was just replaced or removed.
                }
                finally
                {
                    Libc.Close(fd);
                }
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new CollectiveException(CollectiveErrorKind.Timeout, groupName, -1, 0, $"no live segment appeared at '{path}' (rank 0 did not create the group in time)");
            }

            Thread.Sleep(1);
        }
    }

    /// <summary>Maps and checks an opened segment; null when it is stale (its creator is dead) or not ready.</summary>
    private static ShmSegment? TryValidate(string groupName, int fd, long length, int worldSize, long ringBytes, string path)
    {
        byte* header = (byte*)Libc.Mmap(0, SlotsOffset, Libc.PROT_READ, Libc.MAP_SHARED, fd, 0);
        if ((nint)header == -1)
        {
            return null;
        }

        long magic = Volatile.Read(ref *(long*)header);
        int theirWorld = *(int*)(header + 8 + 4);
        long theirRing = *(long*)(header + 16);
        long total = *(long*)(header + 24);
        Libc.Munmap((nint)header, SlotsOffset);
        if (magic != Magic || total != length)
        {
            return null;
        }

        var segment = Map(fd, total, theirWorld, theirRing, path);
        if (!ProcessLiveness.IsAlive(Volatile.Read(ref segment.SlotPid(0)), Volatile.Read(ref segment.SlotStartTime(0))))
        {
            segment.Dispose(); // left by a crashed run: rank 0 will rename a fresh one over it
            return null;
        }

        if (theirWorld != worldSize || theirRing != ringBytes)
        {
            segment.Dispose();
            throw new CollectiveException(
                CollectiveErrorKind.Mismatch, groupName, -1, 0,
                $"rank 0 created the group with world size {theirWorld} and {theirRing}-byte rings; this rank asked for {worldSize} and {ringBytes}");
        }

        return segment;
    }

    private static ShmSegment Map(int fd, long total, int worldSize, long ringBytes, string path)
    {
        nint address = Libc.Mmap(0, (nuint)total, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_POPULATE, fd, 0);
        if (address == -1)
        {
            throw new IOException($"Cannot map collective segment '{path}' ({total} bytes): {Libc.LastError()}");
        }

        return new ShmSegment((byte*)address, total, worldSize, ringBytes, path);
    }

    private void Claim(string groupName, int rank)
    {
        if (Interlocked.CompareExchange(ref SlotState(rank), SlotClaiming, SlotEmpty) != SlotEmpty)
        {
            throw new InvalidOperationException($"Rank {rank} of collective group '{groupName}' was already joined by process {SlotPid(rank)}.");
        }

        SlotPid(rank) = Environment.ProcessId;
        SlotStartTime(rank) = ProcessLiveness.SelfStartTime;
        SlotEnteredOps(rank) = 0;
        Volatile.Write(ref SlotState(rank), SlotJoined);
    }

    private void WaitAllJoined(string groupName, int rank, long deadline)
    {
        for (int peer = 0; peer < WorldSize; peer++)
        {
            while (Volatile.Read(ref SlotState(peer)) < SlotJoined)
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new CollectiveException(CollectiveErrorKind.Timeout, groupName, rank, peer, $"rank {peer} did not join within the timeout");
                }

                Thread.Sleep(1);
            }
        }
    }

    private static string Sanitize(string name)
    {
        var chars = name.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
        {
            if (!char.IsAsciiLetterOrDigit(chars[i]) && chars[i] is not '-' and not '_' and not '.')
            {
                chars[i] = '_';
            }
        }

        return new string(chars);
    }
}
