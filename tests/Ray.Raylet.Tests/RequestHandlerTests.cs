using System.Buffers;
using Ray.Protocol;
using Ray.Contract.Messages;
using Ray.Raylet.Server;

namespace Ray.Raylet.Tests;

/// <summary>The per-connection protocol state machine, without a socket.</summary>
public class RequestHandlerTests
{
    private static Frame F(ClusterMessageKind kind, byte[] payload, FrameFlags flags = FrameFlags.None, ulong id = 1) =>
        new(new FrameHeader(payload.Length, (ushort)kind, flags, id), new ReadOnlySequence<byte>(payload));

    private static (RayletRequestHandler Handler, ListSink Sink, FakeHost Host) New()
    {
        var host = new FakeHost();
        var sink = new ListSink();
        return (new RayletRequestHandler(host, sink, "test peer"), sink, host);
    }

    [Fact]
    public void Hello_then_status_then_shutdown()
    {
        var (h, sink, host) = New();
        h.Handle(F(ClusterMessageKind.Hello, ClusterCodec.EncodeHello(ClusterProtocol.Version, host.ClusterToken), id: 1));
        Assert.True(h.IsAuthenticated);
        Assert.Equal(FrameFlags.Reply, sink.Frames[0].Flags);
        Assert.Equal(host.HelloReply, ClusterCodec.DecodeHelloReply(new ReadOnlySequence<byte>(sink.Frames[0].Payload)));

        h.Handle(F(ClusterMessageKind.Status, [], id: 2));
        Assert.Equal((ushort)ClusterMessageKind.Status, sink.Frames[1].Kind);
        Assert.Equal(2ul, sink.Frames[1].RequestId);
        Assert.Equal(17, ClusterCodec.DecodeStatus(new ReadOnlySequence<byte>(sink.Frames[1].Payload)).QueuedTasks);

        h.Handle(F(ClusterMessageKind.Shutdown, [], FrameFlags.NoReply, id: 3));
        Assert.Equal(2, sink.Frames.Count); // one-way: no reply
        Assert.Single(host.ShutdownReasons);
        h.Handle(F(ClusterMessageKind.Shutdown, [], id: 4));
        Assert.Equal((FrameFlags.Reply, 4ul), (sink.Frames[2].Flags, sink.Frames[2].RequestId));
    }

    [Theory]
    [InlineData("wrong", ClusterProtocol.Version, ClusterErrorCode.Unauthenticated)]
    [InlineData("", ClusterProtocol.Version, ClusterErrorCode.Unauthenticated)]
    [InlineData(null, 2u, ClusterErrorCode.VersionMismatch)]
    [InlineData(null, 0u, ClusterErrorCode.VersionMismatch)]
    public void A_bad_Hello_is_answered_with_an_error_and_throws(string? token, uint version, ClusterErrorCode expected)
    {
        var (h, sink, host) = New();
        Assert.Throws<ProtocolException>(() => h.Handle(F(ClusterMessageKind.Hello, ClusterCodec.EncodeHello(version, token ?? host.ClusterToken), id: 5)));
        Assert.False(h.IsAuthenticated);
        var (kind, flags, id, payload) = Assert.Single(sink.Frames);
        Assert.Equal(((ushort)ClusterMessageKind.Hello, FrameFlags.Reply | FrameFlags.Error, 5ul), (kind, flags, id));
        Assert.Equal(expected, ClusterCodec.DecodeError(new ReadOnlySequence<byte>(payload), kind).Code);
    }

    [Fact]
    public void A_token_that_differs_only_in_length_or_case_is_refused()
    {
        var (h, _, host) = New();
        foreach (var t in new[] { host.ClusterToken + "0", host.ClusterToken[..^1], host.ClusterToken.ToUpperInvariant() })
            Assert.Throws<ProtocolException>(() => h.Handle(F(ClusterMessageKind.Hello, ClusterCodec.EncodeHello(ClusterProtocol.Version, t))));
    }

    [Fact]
    public void Nothing_but_Hello_is_accepted_first_and_Hello_only_once()
    {
        var (h, sink, host) = New();
        Assert.Throws<ProtocolException>(() => h.Handle(F(ClusterMessageKind.Status, [])));
        Assert.Contains("before Hello", ClusterCodec.DecodeError(new ReadOnlySequence<byte>(sink.Frames[^1].Payload), 2).Message);
        var (h2, _, _) = New();
        h2.Handle(F(ClusterMessageKind.Hello, ClusterCodec.EncodeHello(ClusterProtocol.Version, host.ClusterToken)));
        Assert.Throws<ProtocolException>(() => h2.Handle(F(ClusterMessageKind.Hello, ClusterCodec.EncodeHello(ClusterProtocol.Version, host.ClusterToken))));
    }

    [Fact]
    public void A_failing_host_answers_Internal_and_keeps_the_connection()
    {
        var (h, sink, host) = New();
        h.Handle(F(ClusterMessageKind.Hello, ClusterCodec.EncodeHello(ClusterProtocol.Version, host.ClusterToken)));
        host.StatusOverride = () => throw new ObjectDisposedException("store");
        h.Handle(F(ClusterMessageKind.Status, [], id: 9)); // does not throw
        var (kind, flags, id, payload) = sink.Frames[^1];
        Assert.Equal(FrameFlags.Reply | FrameFlags.Error, flags);
        Assert.Equal(ClusterErrorCode.Internal, ClusterCodec.DecodeError(new ReadOnlySequence<byte>(payload), kind).Code);
        host.StatusOverride = null;
        h.Handle(F(ClusterMessageKind.Status, [], id: 10));
        Assert.Equal(FrameFlags.Reply, sink.Frames[^1].Flags);
    }
}
