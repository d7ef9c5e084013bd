using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using Ray.Plasma.Client;
using Ray.Plasma.Server;
using Ray.Protocol;
using static Ray.Plasma.Tests.TestUtil;

using Ray.Tests.Shared;

namespace Ray.Plasma.Tests;

/// <summary>The frame parser and payload reader on hostile input.</summary>
public class ProtocolFuzzTests
{
    private const int MaxPayload = PlasmaProtocol.MaxPayload;

    [Fact]
    public void Valid_frames_round_trip_whole_and_split_into_segments()
    {
        var rng = new Random(5);
        var frames = new List<(FrameHeader Header, byte[] Payload)>();
        var w = new ArrayBufferWriter<byte>();
        for (var i = 0; i < 200; i++)
        {
            var payload = RandomBytes(rng.Next(0, i % 10 == 0 ? 5000 : 64), i);
            var h = new FrameHeader(payload.Length, (ushort)rng.Next(0, 65536), (FrameFlags)rng.Next(0, 8), (ulong)rng.NextInt64());
            FrameWriter.Write(w, h.Kind, h.Flags, h.RequestId, payload);
            frames.Add((h, payload));
        }
        var bytes = w.WrittenSpan.ToArray();
        foreach (var split in new[] { 0, 1, 7, 100 })
        {
            var seq = split == 0 ? new ReadOnlySequence<byte>(bytes) : SegmentedBytes.Split(bytes, rng, split);
            var parser = new FrameParser(MaxPayload);
            foreach (var (header, payload) in frames)
            {
                Assert.True(parser.TryParseFrame(ref seq, out var frame));
                Assert.Equal(header, frame.Header);
                Assert.Equal(payload, frame.Payload.ToArray());
            }
            Assert.Equal(0, seq.Length);
            Assert.False(parser.TryParseFrame(ref seq, out _));
        }
    }

    [Fact]
    public void Every_strict_prefix_of_a_frame_asks_for_more_and_consumes_nothing()
    {
        var w = new ArrayBufferWriter<byte>();
        FrameWriter.Write(w, 5, FrameFlags.None, 9, RandomBytes(40, 1));
        var bytes = w.WrittenSpan.ToArray();
        var parser = new FrameParser(MaxPayload);
        for (var n = 0; n < bytes.Length; n++)
        {
            var seq = new ReadOnlySequence<byte>(bytes, 0, n);
            Assert.False(parser.TryParseFrame(ref seq, out _));
            Assert.Equal(n, seq.Length);
        }
    }

    [Theory]
    [InlineData(-1, 0)]
    [InlineData(int.MinValue, 0)]
    [InlineData(MaxPayload + 1, 0)]
    [InlineData(int.MaxValue, 0)]
    [InlineData(0, 8)]
    [InlineData(0, 0xffff)]
    public void Bad_headers_throw_ProtocolException_before_the_payload_arrives(int length, int flags)
    {
        var h = new byte[16];
        BinaryPrimitives.WriteInt32LittleEndian(h, length);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(6), (ushort)flags);
        var seq = new ReadOnlySequence<byte>(h);
        Assert.Throws<ProtocolException>(() => new FrameParser(MaxPayload).TryParseFrame(ref seq, out _));
    }

    [Fact]
    public void A_frame_of_exactly_the_maximum_payload_is_accepted()
    {
        var w = new ArrayBufferWriter<byte>();
        FrameWriter.Write(w, 1, FrameFlags.Reply, 1, new byte[MaxPayload]);
        var seq = new ReadOnlySequence<byte>(w.WrittenMemory);
        Assert.True(new FrameParser(MaxPayload).TryParseFrame(ref seq, out var f));
        Assert.Equal(MaxPayload, f.Payload.Length);
    }

    /// <summary>
    /// 20 000 seeded cases: random bytes, and valid frame streams with bytes flipped, dropped,
    /// duplicated or truncated, fed whole or in random segments. The parser may only return
    /// true (consuming at least a header) or false (consuming nothing), or throw
    /// ProtocolException; every parse loop ends within bytes/16 + 1 steps.
    /// </summary>
    [Fact]
    public void Random_and_mutated_input_only_parses_or_throws_ProtocolException()
    {
        var rng = new Random(20240601);
        var sw = Stopwatch.StartNew();
        int frames = 0, protocolErrors = 0, needMore = 0;
        for (var c = 0; c < 20_000; c++)
        {
            var bytes = c % 3 == 0 ? RandomBytes(rng.Next(0, 200), c) : Mutate(ValidStream(rng), rng);
            var seq = rng.Next(4) == 0 ? SegmentedBytes.Split(bytes, rng, rng.Next(1, 32)) : new ReadOnlySequence<byte>(bytes);
            var parser = new FrameParser(rng.Next(3) == 0 ? rng.Next(0, 100) : MaxPayload);
            var steps = 0;
            try
            {
                while (true)
                {
                    Assert.True(++steps <= bytes.Length / FrameHeader.Size + 1, $"case {c}: parse loop did not end");
                    var before = seq.Length;
                    if (!parser.TryParseFrame(ref seq, out var frame))
                    {
                        Assert.Equal(before, seq.Length); // nothing consumed
                        needMore++;
                        break;
                    }
                    frames++;
                    Assert.InRange(frame.Header.PayloadLength, 0, parser.MaxPayload);
                    Assert.Equal(frame.Header.PayloadLength, frame.Payload.Length);
                    Assert.Equal(before - FrameHeader.Size - frame.Header.PayloadLength, seq.Length);
                }
            }
            catch (ProtocolException) { protocolErrors++; }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"case {c}: {e.GetType().Name}: {e.Message} on input {Convert.ToHexString(bytes.AsSpan(0, Math.Min(64, bytes.Length)))}");
            }
        }
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"fuzzing took {sw.Elapsed}");
        // The corpus exercised all three outcomes.
        Assert.True(frames > 1000 && protocolErrors > 1000 && needMore > 1000, $"frames {frames}, errors {protocolErrors}, need-more {needMore}");
    }

    /// <summary>Payload readers over random payloads: only ProtocolException, never a crash.</summary>
    [Fact]
    public void PayloadReader_on_random_payloads_only_throws_ProtocolException()
    {
        var rng = new Random(77);
        for (var c = 0; c < 20_000; c++)
        {
            var payload = RandomBytes(rng.Next(0, 48), c);
            if (payload.Length >= 2 && rng.Next(2) == 0) BinaryPrimitives.WriteUInt16LittleEndian(payload, (ushort)rng.Next(0, payload.Length + 4)); // plausible string lengths
            var seq = rng.Next(3) == 0 ? SegmentedBytes.Split(payload, rng, 3) : new ReadOnlySequence<byte>(payload);
            try
            {
                var r = new PayloadReader(seq, 1);
                for (var i = 0; i < 8; i++)
                {
                    switch (rng.Next(6))
                    {
                        case 0: r.U8(); break;
                        case 1: r.U16(); break;
                        case 2: r.U32(); break;
                        case 3: r.I64(); break;
                        case 4: r.Utf8(); break;
                        default: r.End(); break;
                    }
                }
            }
            catch (ProtocolException) { }
            catch (Exception e)
            {
                Assert.Fail($"case {c}: {e.GetType().Name}: {e.Message} on {Convert.ToHexString(payload)}");
            }
        }
    }

    /// <summary>
    /// Random well-framed requests (random kinds, payloads, small id pool) from a raw client:
    /// the server answers or closes, never crashes, keeps serving another client, and once the
    /// fuzzing client is gone the store is consistent (deleting every object frees the arena).
    /// </summary>
    [Fact]
    public async Task Server_survives_random_requests_and_cleans_up_after_the_client()
    {
        await using var s = ServerScope.Start(4 << 20);
        await using var good = await PlasmaClient.ConnectAsync(s.SocketPath);
        var rng = new Random(99);
        RawConnection? raw = null;
        int opened = 0, sent = 0, replies = 0;
        try
        {
            for (var i = 0; i < 400; i++)
            {
                if (raw is null)
                {
                    raw = await RawConnection.ConnectAsync(s.SocketPath);
                    await raw.HelloAsync();
                    opened++;
                }
                var kind = (ushort)rng.Next(2, 11); // every kind but Hello, and one unknown
                var p = new byte[rng.Next(6) == 0 ? rng.Next(0, 40) : kind switch { 2 => 29, 5 => 24, 9 => 0, _ => 16 }];
                rng.NextBytes(p);
                if (p.Length >= 16)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(p, 7);
                    BinaryPrimitives.WriteUInt64LittleEndian(p.AsSpan(8), (ulong)rng.Next(0, 4));
                }
                if (kind == 2 && p.Length == 29) BinaryPrimitives.WriteInt64LittleEndian(p.AsSpan(16), rng.Next(-10, 300_000));
                if (kind == 5 && p.Length == 24) BinaryPrimitives.WriteInt64LittleEndian(p.AsSpan(16), rng.Next(0, 2000)); // us
                var flags = rng.Next(5) == 0 ? FrameFlags.NoReply : FrameFlags.None;
                var requestId = (ulong)i + 10;
                bool open;
                try
                {
                    await raw.SendAsync(RawConnection.Frame(kind, flags, requestId, p));
                    sent++;
                    // One request at a time: wait for its reply (or the close a malformed one earns).
                    // A one-way request gets no reply: a Stats probe after it shows the connection's state.
                    if (flags == FrameFlags.NoReply)
                    {
                        requestId += 100_000;
                        await raw.SendAsync(RawConnection.Frame((ushort)PlasmaMessageKind.Stats, FrameFlags.None, requestId, []));
                    }
                    open = await ReplyOrClose(raw, requestId);
                    if (open) replies++;
                }
                catch (System.Net.Sockets.SocketException) { open = false; } // closed under us
                if (!open)
                {
                    await raw.DisposeAsync();
                    raw = null;
                }
            }
            Assert.True(opened > 5 && replies > 200, $"opened {opened}, sent {sent}, replies {replies}");
            // The other client is unaffected.
            var id = Id(NewOwner(), 1);
            await good.PutAsync(id, new byte[] { 1 });
            using (var v = await good.GetAsync(id, TimeSpan.FromSeconds(10))) Assert.Equal(1, v.Span[0]);
            Assert.True(await good.DeleteAsync(id));
        }
        finally { if (raw is not null) await raw.DisposeAsync(); }

        await Eventually(() => s.Server.ConnectionCount == 1, TimeSpan.FromSeconds(10), () => $"{s.Server.ConnectionCount} connections left after {opened} fuzz connections");
        for (ulong seq = 0; seq < 4; seq++) s.Store.Delete(Id(7, seq));
        await Eventually(() => s.Store.Stats.UsedBytes == 0, TimeSpan.FromSeconds(10), () => $"used {s.Store.Stats.UsedBytes} after deleting everything");
        Assert.Equal(1, s.Store.Stats.FreeBlocks);
    }

    /// <summary>True when the reply to <paramref name="requestId"/> came; false when the server closed the connection.</summary>
    private static async Task<bool> ReplyOrClose(RawConnection raw, ulong requestId)
    {
        while (true)
        {
            var frame = await raw.ReadFrameAsync(TimeSpan.FromSeconds(10)); // throws TimeoutException on silence
            if (frame is null) return false;
            Assert.True((frame.Value.Header.Flags & FrameFlags.Reply) != 0);
            if (frame.Value.Header.RequestId == requestId) return true; // else: a late reply to an earlier Get
        }
    }

    private static byte[] ValidStream(Random rng)
    {
        var w = new ArrayBufferWriter<byte>();
        var n = rng.Next(1, 5);
        for (var i = 0; i < n; i++)
        {
            var payload = new byte[rng.Next(0, 64)];
            rng.NextBytes(payload);
            FrameWriter.Write(w, (ushort)rng.Next(0, 12), (FrameFlags)rng.Next(0, 8), (ulong)rng.NextInt64(), payload);
        }
        return w.WrittenSpan.ToArray();
    }

    private static byte[] Mutate(byte[] bytes, Random rng)
    {
        var list = bytes.ToList();
        var edits = rng.Next(0, 4);
        for (var e = 0; e < edits && list.Count > 0; e++)
        {
            var at = rng.Next(list.Count);
            switch (rng.Next(5))
            {
                case 0: list[at] ^= (byte)(1 << rng.Next(8)); break;          // bit flip
                case 1: list[at] = (byte)rng.Next(256); break;                  // byte replaced
                case 2: list.RemoveAt(at); break;                               // byte dropped
                case 3: list.Insert(at, (byte)rng.Next(256)); break;            // byte inserted
                default: list.RemoveRange(at, list.Count - at); break;          // truncated
            }
        }
        if (rng.Next(8) == 0 && list.Count >= 4) BinaryPrimitives.WriteInt32LittleEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list), rng.Next(int.MinValue, int.MaxValue));
        return list.ToArray();
    }
}
