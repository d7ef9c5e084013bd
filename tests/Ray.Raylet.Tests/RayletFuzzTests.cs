using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using Ray.Cluster.Wire;
using Ray.Protocol;
using Ray.Contract.Messages;
using Ray.Raylet.Server;

using Ray.Tests.Shared;

namespace Ray.Raylet.Tests;

/// <summary>
/// The raylet's message decoding on hostile input: seeded random bytes and mutated valid
/// frame streams go through the same parser limits and per-connection handler a socket
/// would use. The only exception allowed out is <see cref="ProtocolException"/>, every
/// connection's parse loop ends, and the whole run is bounded in time.
/// </summary>
public class RayletFuzzTests
{
    private const string Token = "0123456789abcdef0123456789abcdef";

    [Fact]
    public async Task Random_and_mutated_frames_only_throw_ProtocolException_and_never_hang()
    {
        // Run on the pool with a deadline: a hang fails the test instead of stalling the suite.
        var run = Task.Run(() => FuzzConnections(seed: 20251125, cases: 30_000));
        var outcome = await run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(outcome.Authenticated > 1_000, outcome.ToString());
        Assert.True(outcome.Closed > 5_000, outcome.ToString());
        Assert.True(outcome.Replies > 5_000, outcome.ToString());
        Assert.True(outcome.NeedMore > 1_000, outcome.ToString());
    }

    private sealed record Outcome(int Authenticated, int Closed, int Replies, int NeedMore, int Frames);

    private static Outcome FuzzConnections(int seed, int cases)
    {
        var rng = new Random(seed);
        var host = new FakeHost(Token);
        int authenticated = 0, closed = 0, replies = 0, needMore = 0, frames = 0;
        var sw = Stopwatch.StartNew();
        for (var c = 0; c < cases; c++)
        {
            var bytes = (c % 5) switch
            {
                0 => TestUtil.RandomBytes(rng.Next(0, 200), rng),
                1 => ValidStream(rng),
                _ => Mutate(ValidStream(rng), rng),
            };
            var seq = rng.Next(4) == 0 ? SegmentedBytes.Split(bytes, rng, rng.Next(1, 32)) : new ReadOnlySequence<byte>(bytes);
            var sink = new ListSink();
            var handler = new RayletRequestHandler(host, sink, $"fuzz case {c}");
            // The connection's limits: small until Hello succeeds, then the full maximum.
            var parser = new FrameParser(ClusterProtocol.MaxHelloPayload);
            var steps = 0;
            try
            {
                while (true)
                {
                    if (++steps > bytes.Length / FrameHeader.Size + 2) Assert.Fail($"case {c}: the parse loop did not end");
                    var before = seq.Length;
                    if (!parser.TryParseFrame(ref seq, out var frame))
                    {
                        Assert.Equal(before, seq.Length);
                        needMore++;
                        break;
                    }
                    frames++;
                    var sent = sink.Frames.Count;
                    var was = handler.IsAuthenticated;
                    handler.Handle(frame);
                    if (!was && handler.IsAuthenticated)
                    {
                        authenticated++;
                        parser = new FrameParser(ClusterProtocol.MaxPayload);
                    }
                    // A handled request is answered once, unless it was one-way.
                    Assert.True(sink.Frames.Count - sent <= 1, $"case {c}: {sink.Frames.Count - sent} replies to one request");
                    if (sink.Frames.Count > sent)
                    {
                        replies++;
                        var reply = sink.Frames[^1];
                        Assert.Equal(frame.Header.RequestId, reply.RequestId);
                        Assert.True((reply.Flags & FrameFlags.Reply) != 0);
                    }
                }
            }
            catch (ProtocolException)
            {
                closed++;
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"case {c}: {e.GetType().Name}: {e.Message} on input {Convert.ToHexString(bytes.AsSpan(0, Math.Min(96, bytes.Length)))}\n{e.StackTrace}");
            }
            finally
            {
                handler.OnClosed("fuzz case over"); // ends a job it registered, kills its (fake) workers
            }
            foreach (var f in sink.Frames) Assert.True((f.Flags & FrameFlags.Reply) != 0, $"case {c}: the handler sent a non-reply frame");
        }
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(25), $"fuzzing took {sw.Elapsed}");
        var left = host.Leases.Counts();
        Assert.True(left.Jobs == 0 && left.Leases == 0 && left.Workers == 0, $"left behind: {left}");
        // The cluster messages were reached: jobs registered (each prestarts a fake worker).
        Assert.True(host.Launcher.Launched.Count > 200, $"only {host.Launcher.Launched.Count} workers launched");
        return new Outcome(authenticated, closed, replies, needMore, frames);
    }

    [Fact]
    public async Task Decoders_of_replies_only_throw_ProtocolException_on_random_and_mutated_payloads()
    {
        var run = Task.Run(() =>
        {
            var rng = new Random(99);
            var valid = new[]
            {
                ClusterCodec.EncodeStatus(FakeHost.Report),
                ClusterCodec.EncodeHelloReply(new HelloReply(1, "node", "/tmp/s", "/dev/shm/a")),
                ClusterCodec.EncodeError(ClusterErrorCode.ProtocolError, "bad"),
                ClusterCodec.EncodeHello(1, Token),
                ClusterCodec.EncodeRegisterJob(new JobRegistration(42, "job", ["/a", "/b/c.dll"])),
                ClusterCodec.EncodeJobAccepted(new JobAccepted(3, "node", "/tmp/p", "/tmp/s", [new("CPU", 20_000), new("x", 1)])),
                ClusterCodec.EncodeRequestLease(LeasePurpose.Actor, [new("CPU", 10_000), new("GPU", 5_000)]),
                ClusterCodec.EncodeLeaseGrant(new LeaseGrant(9, 2, 1234, "/tmp/w.sock")),
                ClusterCodec.EncodeReturnLease(9, true),
                ClusterCodec.EncodeRegisterWorker(new WorkerRegistration(3, 2, 1234, "/tmp/w.sock")),
                ClusterCodec.EncodeError(ClusterErrorCode.Infeasible, "no"),
            };
            var decoded = 0;
            for (var c = 0; c < 40_000; c++)
            {
                var k = rng.Next(valid.Length); // the decoder; mutated payloads are of its own message
                var payload = c % 3 == 0 ? TestUtil.RandomBytes(rng.Next(0, 120), rng) : Mutate(valid[k], rng);
                var seq = rng.Next(3) == 0 ? SegmentedBytes.Split(payload, rng, 7) : new ReadOnlySequence<byte>(payload);
                try
                {
                    switch (k)
                    {
                        case 0: ClusterCodec.DecodeStatus(seq); break;
                        case 1: ClusterCodec.DecodeHelloReply(seq); break;
                        case 2: ClusterCodec.DecodeError(seq, 2); break;
                        case 3: ClusterCodec.DecodeHello(seq); break;
                        case 4: ClusterCodec.DecodeRegisterJob(seq); break;
                        case 5: ClusterCodec.DecodeJobAccepted(seq); break;
                        case 6: ClusterCodec.DecodeRequestLease(seq); break;
                        case 7: ClusterCodec.DecodeLeaseGrant(seq); break;
                        case 8: ClusterCodec.DecodeReturnLease(seq); break;
                        case 9: ClusterCodec.DecodeRegisterWorker(seq); break;
                        default: ClusterCodec.DecodeError(seq, 11); break;
                    }
                    decoded++;
                }
                catch (ProtocolException) { }
                catch (Exception e)
                {
                    Assert.Fail($"case {c}: {e.GetType().Name}: {e.Message} on {Convert.ToHexString(payload)}");
                }
            }
            return decoded;
        });
        var ok = await run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(ok > 1_000, $"only {ok} payloads decoded: the corpus is too broken to reach the deep paths");
    }

    /// <summary>A plausible connection: often a good Hello first, then requests of every kind.</summary>
    private static byte[] ValidStream(Random rng)
    {
        var w = new ArrayBufferWriter<byte>();
        ulong id = 1;
        switch (rng.Next(6))
        {
            case 0: break; // no Hello
            case 1: Write(w, ClusterMessageKind.Hello, ClusterCodec.EncodeHello(ClusterProtocol.Version, "wrong-token"), id++); break;
            case 2: Write(w, ClusterMessageKind.Hello, ClusterCodec.EncodeHello((uint)rng.Next(0, 4), Token), id++); break;
            default: Write(w, ClusterMessageKind.Hello, ClusterCodec.EncodeHello(ClusterProtocol.Version, Token), id++); break;
        }
        for (var n = rng.Next(0, 6); n > 0; n--)
        {
            var kind = (ClusterMessageKind)(rng.Next(3) == 0 ? rng.Next(0, 6) : rng.Next(9, 15));
            var payload = kind switch
            {
                ClusterMessageKind.Hello => ClusterCodec.EncodeHello(ClusterProtocol.Version, Token),
                ClusterMessageKind.Status or ClusterMessageKind.Shutdown => rng.Next(6) == 0 ? TestUtil.RandomBytes(rng.Next(1, 8), rng) : [],
                ClusterMessageKind.RegisterJob => ClusterCodec.EncodeRegisterJob(new JobRegistration(rng.Next(), "fuzz", rng.Next(2) == 0 ? [] : ["/code"])),
                ClusterMessageKind.RequestLease => ClusterCodec.EncodeRequestLease((LeasePurpose)rng.Next(2),
                    [new(rng.Next(4) switch { 0 => "CPU", 1 => "GPU", 2 => "accelerator", _ => "nope" }, rng.Next(0, 6) * 5_000L)]),
                ClusterMessageKind.ReturnLease => ClusterCodec.EncodeReturnLease((ulong)rng.Next(0, 4), rng.Next(2) == 0),
                ClusterMessageKind.RegisterWorker => ClusterCodec.EncodeRegisterWorker(new WorkerRegistration((uint)rng.Next(0, 3), (uint)rng.Next(0, 5), RecordingLauncher.PidBase + rng.Next(0, 5), "/tmp/w")),
                _ => TestUtil.RandomBytes(rng.Next(0, 40), rng),
            };
            var flags = rng.Next(5) == 0 ? (FrameFlags)rng.Next(0, 8) : FrameFlags.None;
            FrameWriter.Write(w, (ushort)kind, flags, id++, payload);
        }
        return w.WrittenSpan.ToArray();
    }

    private static void Write(ArrayBufferWriter<byte> w, ClusterMessageKind kind, byte[] payload, ulong id) =>
        FrameWriter.Write(w, (ushort)kind, FrameFlags.None, id, payload);

    private static byte[] Mutate(byte[] bytes, Random rng)
    {
        var list = bytes.ToList();
        var edits = rng.Next(1, 4);
        for (var e = 0; e < edits && list.Count > 0; e++)
        {
            var at = rng.Next(list.Count);
            switch (rng.Next(6))
            {
                case 0: list[at] ^= (byte)(1 << rng.Next(8)); break;     // bit flip
                case 1: list[at] = (byte)rng.Next(256); break;             // byte replaced
                case 2: list.RemoveAt(at); break;                          // byte dropped
                case 3: list.Insert(at, (byte)rng.Next(256)); break;       // byte inserted
                case 4: list.RemoveRange(at, list.Count - at); break;      // truncated
                default: list.InsertRange(at, list.GetRange(at, Math.Min(16, list.Count - at))); break; // duplicated run
            }
        }
        if (rng.Next(8) == 0 && list.Count >= 4)
            BinaryPrimitives.WriteInt32LittleEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list), rng.Next(int.MinValue, int.MaxValue));
        return list.ToArray();
    }
}
