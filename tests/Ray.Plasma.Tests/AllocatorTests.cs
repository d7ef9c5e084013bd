using Ray.Plasma.Store;

namespace Ray.Plasma.Tests;

public class AllocatorTests
{
    private const long A = ArenaAllocator.Alignment;

    [Fact]
    public void RoundUp_and_capacity_are_multiples_of_the_alignment()
    {
        Assert.Equal(64, A);
        Assert.Equal(64, ArenaAllocator.RoundUp(0)); // an empty object still takes a block
        Assert.Equal(64, ArenaAllocator.RoundUp(1));
        Assert.Equal(64, ArenaAllocator.RoundUp(64));
        Assert.Equal(128, ArenaAllocator.RoundUp(65));
        Assert.Equal(960, new ArenaAllocator(1000).Capacity); // rounded down
        var empty = new ArenaAllocator(63);
        Assert.Equal(0, empty.Capacity);
        Assert.False(empty.TryAllocate(1, out _));
    }

    [Fact]
    public void Allocating_at_the_end_takes_the_tail_of_the_last_free_block_and_falls_back_to_best_fit()
    {
        var alloc = new ArenaAllocator(1 << 20);
        Assert.True(alloc.TryAllocateAtEnd(100, out var tail));
        Assert.Equal((1 << 20) - 128, tail);
        Assert.True(alloc.TryAllocate(1000, out var head));
        Assert.Equal(0, head); // the rest is one block from the start
        Assert.Equal((1 << 20) - 128 - 1024, alloc.LargestFree);
        // The last free block too small: best fit elsewhere.
        Assert.True(alloc.TryAllocate((1 << 20) - 128 - 1024 - 2 * A, out var fill));
        Assert.Equal(1024, fill);
        alloc.Free(head, 1000);
        Assert.True(alloc.TryAllocateAtEnd(3 * A, out var fallback));
        Assert.Equal(0, fallback); // the last free block (2 blocks of 64) is too small
        Assert.Equal(1024 - 3 * A + 2 * A, alloc.FreeBytes);
    }

    [Fact]
    public void Every_offset_is_aligned_and_blocks_never_overlap()
    {
        var alloc = new ArenaAllocator(1 << 20);
        var rng = new Random(1);
        var blocks = new List<(long Offset, long Size)>();
        long charged = 0;
        for (var i = 0; i < 500; i++)
        {
            var size = rng.Next(1, 1500); // odd sizes on purpose
            Assert.True(alloc.TryAllocate(size, out var offset));
            Assert.Equal(0, offset % A);
            blocks.Add((offset, ArenaAllocator.RoundUp(size)));
            charged += ArenaAllocator.RoundUp(size);
            if (i % 3 == 0)
            {
                var victim = rng.Next(blocks.Count);
                alloc.Free(blocks[victim].Offset, blocks[victim].Size);
                charged -= blocks[victim].Size;
                blocks.RemoveAt(victim);
            }
        }
        Assert.Equal(alloc.Capacity - charged, alloc.FreeBytes);
        var sorted = blocks.OrderBy(b => b.Offset).ToList();
        for (var i = 1; i < sorted.Count; i++)
            Assert.True(sorted[i - 1].Offset + sorted[i - 1].Size <= sorted[i].Offset, $"blocks {sorted[i - 1]} and {sorted[i]} overlap");
        Assert.True(sorted[^1].Offset + sorted[^1].Size <= alloc.Capacity);
    }

    [Theory]
    [InlineData("forward")]
    [InlineData("reverse")]
    [InlineData("evens-then-odds")]
    [InlineData("shuffled")]
    public void Freeing_everything_coalesces_into_one_block_of_full_capacity(string order)
    {
        var alloc = new ArenaAllocator(256 * 1024);
        var blocks = new List<(long Offset, long Size)>();
        var rng = new Random(7);
        while (true)
        {
            var size = rng.Next(1, 3000);
            if (!alloc.TryAllocate(size, out var offset)) break;
            blocks.Add((offset, size));
        }
        Assert.True(blocks.Count > 50);
        IEnumerable<(long Offset, long Size)> frees = order switch
        {
            "forward" => blocks,
            "reverse" => Enumerable.Reverse(blocks),
            "evens-then-odds" => blocks.Where((_, i) => i % 2 == 0).Concat(blocks.Where((_, i) => i % 2 == 1)),
            _ => blocks.OrderBy(_ => rng.Next()).ToList(),
        };
        foreach (var (offset, size) in frees) alloc.Free(offset, size);

        Assert.Equal(1, alloc.FreeBlocks);
        Assert.Equal(alloc.Capacity, alloc.FreeBytes);
        Assert.Equal(alloc.Capacity, alloc.LargestFree);
        Assert.True(alloc.TryAllocate(alloc.Capacity, out var whole));
        Assert.Equal(0, whole);
    }

    [Fact]
    public void Free_merges_with_the_neighbour_before_and_after()
    {
        var alloc = new ArenaAllocator(4 * 1024);
        Assert.True(alloc.TryAllocate(1024, out var a));
        Assert.True(alloc.TryAllocate(1024, out var b));
        Assert.True(alloc.TryAllocate(1024, out var c));
        Assert.True(alloc.TryAllocate(1024, out var d)); // full
        Assert.Equal(0, alloc.FreeBlocks);

        alloc.Free(a, 1024);
        alloc.Free(c, 1024);
        Assert.Equal(2, alloc.FreeBlocks); // a and c are not adjacent
        Assert.Equal(1024, alloc.LargestFree);

        alloc.Free(b, 1024); // joins a (before) and c (after)
        Assert.Equal(1, alloc.FreeBlocks);
        Assert.Equal(3 * 1024, alloc.LargestFree);

        alloc.Free(d, 1024);
        Assert.Equal(1, alloc.FreeBlocks);
        Assert.Equal(4 * 1024, alloc.LargestFree);
    }

    [Fact]
    public void Best_fit_takes_the_smallest_block_that_fits()
    {
        var alloc = new ArenaAllocator(64 * 1024);
        var offsets = new long[8];
        for (var i = 0; i < 8; i++) Assert.True(alloc.TryAllocate(8 * 1024, out offsets[i]));
        // Holes of 8 KiB (block 1) and 16 KiB (blocks 3+4); block 6 keeps them apart from the rest.
        alloc.Free(offsets[1], 8 * 1024);
        alloc.Free(offsets[3], 8 * 1024);
        alloc.Free(offsets[4], 8 * 1024);
        Assert.True(alloc.TryAllocate(6 * 1024, out var small));
        Assert.Equal(offsets[1], small); // the 8 KiB hole, not the first-fit-equal 16 KiB one
        Assert.True(alloc.TryAllocate(12 * 1024, out var big));
        Assert.Equal(offsets[3], big);
    }

    [Fact]
    public void TryAllocate_fails_cleanly_when_full_or_too_fragmented()
    {
        var alloc = new ArenaAllocator(4096);
        var blocks = new List<long>();
        for (var i = 0; i < 64; i++)
        {
            Assert.True(alloc.TryAllocate(64, out var o));
            blocks.Add(o);
        }
        Assert.False(alloc.TryAllocate(1, out var none));
        Assert.Equal(-1, none);
        Assert.Equal(0, alloc.FreeBytes);
        Assert.Equal(0, alloc.FreeBlocks);
        Assert.Equal(0, alloc.LargestFree);

        // Free every other block: 2 KiB free, but no two adjacent 64-byte blocks.
        for (var i = 0; i < 64; i += 2) alloc.Free(blocks[i], 64);
        Assert.Equal(2048, alloc.FreeBytes);
        Assert.Equal(32, alloc.FreeBlocks);
        Assert.False(alloc.TryAllocate(65, out none));
        Assert.Equal(-1, none);
        Assert.Equal(2048, alloc.FreeBytes); // nothing changed by the failure
        Assert.Equal(32, alloc.FreeBlocks);
        Assert.False(alloc.TryAllocate(alloc.Capacity + 1, out _));
        Assert.True(alloc.TryAllocate(64, out _));
    }

    /// <summary>
    /// A seeded random create/delete workload: 8 000 operations, sizes 64 B..64 KiB
    /// (log-uniform), first churning up to ~90 % occupancy of a 16 MiB arena, then draining to
    /// ~50 %. Checked after every operation against a shadow model of the live blocks:
    /// * exact coalescing: the free blocks are exactly the maximal gaps between live blocks, so
    ///   FreeBlocks == gap count, LargestFree == largest gap, FreeBytes == sum of gaps. This
    ///   implies the hard bound FreeBlocks &lt;= live blocks + 1 that any coalescing allocator
    ///   guarantees (two free blocks are never adjacent, so each but the last is followed by a
    ///   live block), asserted on its own as well;
    /// * best fit: a successful allocation lands at the start of a smallest gap that fits; a
    ///   failed one happens only when no gap fits;
    /// * a practical bound: no request fails while at least 10 % of the arena (1.6 MiB, room
    ///   for 25 objects of the largest size) is free. Best fit fills the smallest holes first
    ///   and keeps large holes intact, so free space stays usable. Measured on ten seeds, the
    ///   workload never failed a request at all (occupancy peaks around 90 %, with up to ~430
    ///   free blocks); the 10 % bound leaves a margin for seeds not measured while still
    ///   failing an allocator that shatters its free space into unusable slivers.
    /// Finally, freeing everything leaves one free block of the full capacity.
    /// </summary>
    [Theory]
    [InlineData(11)]
    [InlineData(12345)]
    public void Random_workload_keeps_fragmentation_bounded(int seed)
    {
        const long capacity = 16L << 20;
        const int maxSize = 64 * 1024;
        var alloc = new ArenaAllocator(capacity);
        var rng = new Random(seed);
        var live = new SortedDictionary<long, long>(); // offset -> rounded block size
        var liveList = new List<long>();                // offsets, for picking a random victim
        long liveBytes = 0;
        int failures = 0, maxLive = 0;

        for (var op = 0; op < 8000; op++)
        {
            var target = op < 4000 ? 0.9 : 0.5;
            var allocate = live.Count == 0 || rng.NextDouble() < (liveBytes < capacity * target ? 0.7 : 0.3);
            if (allocate)
            {
                var size = (long)Math.Exp(rng.NextDouble() * (Math.Log(maxSize) - Math.Log(64)) + Math.Log(64));
                var need = ArenaAllocator.RoundUp(size);
                var gaps = Gaps(live, capacity);
                var freeBefore = alloc.FreeBytes;
                if (alloc.TryAllocate(size, out var offset))
                {
                    var best = gaps.Where(g => g.Size >= need).Select(g => g.Size).DefaultIfEmpty(-1).Min();
                    Assert.True(best > 0, $"op {op}: allocated {need} bytes where no gap fits");
                    Assert.True(gaps.Any(g => g.Offset == offset && g.Size == best), $"op {op}: {need} bytes at {offset} is not in a smallest fitting gap ({best} bytes)");
                    live.Add(offset, need);
                    liveList.Add(offset);
                    liveBytes += need;
                }
                else
                {
                    failures++;
                    Assert.Equal(-1, offset);
                    Assert.DoesNotContain(gaps, g => g.Size >= need);
                    Assert.True(freeBefore < capacity / 10,
                        $"op {op}: a {need}-byte request failed with {freeBefore} bytes free in {alloc.FreeBlocks} blocks (largest {alloc.LargestFree})");
                }
            }
            else
            {
                var i = rng.Next(liveList.Count);
                var offset = liveList[i];
                liveList[i] = liveList[^1];
                liveList.RemoveAt(liveList.Count - 1);
                var size = live[offset];
                live.Remove(offset);
                liveBytes -= size;
                alloc.Free(offset, size);
            }

            var after = Gaps(live, capacity);
            Assert.Equal(capacity - liveBytes, alloc.FreeBytes);
            Assert.Equal(after.Count, alloc.FreeBlocks);
            Assert.Equal(after.Count == 0 ? 0 : after.Max(g => g.Size), alloc.LargestFree);
            Assert.True(alloc.FreeBlocks <= live.Count + 1);
            maxLive = Math.Max(maxLive, live.Count);
        }
        Assert.True(maxLive > 1000, $"the workload peaked at only {maxLive} live blocks");

        foreach (var offset in liveList.OrderBy(_ => rng.Next()).ToList()) alloc.Free(offset, live[offset]);
        Assert.Equal(1, alloc.FreeBlocks);
        Assert.Equal(capacity, alloc.FreeBytes);
        Assert.Equal(capacity, alloc.LargestFree);
    }

    private static List<(long Offset, long Size)> Gaps(SortedDictionary<long, long> live, long capacity)
    {
        var gaps = new List<(long, long)>();
        long at = 0;
        foreach (var (offset, size) in live)
        {
            if (offset < at) Assert.Fail($"live blocks overlap at {offset}");
            if (offset > at) gaps.Add((at, offset - at));
            at = offset + size;
        }
        Assert.True(at <= capacity);
        if (capacity > at) gaps.Add((at, capacity - at));
        return gaps;
    }
}
