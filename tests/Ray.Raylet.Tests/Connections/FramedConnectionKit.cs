using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Ray.Protocol;
using Ray.Tests.Shared;

namespace Ray.Raylet.Tests.Connections;

/// <summary>
/// A <see cref="FramedConnection"/> that speaks a tiny test protocol: kind <see cref="Echo"/> is
/// answered with the same payload (through the outbox or by the caller's flush, as chosen),
/// kind <see cref="Refuse"/> gets an error reply and then closes for bad input, replies
/// complete a <see cref="ReplyTable{T}"/> (the client side).
/// </summary>
internal sealed class TestConnection : FramedConnection
{
    public const ushort Echo = 1;
    public const ushort Refuse = 2;
    public const ushort Raise = 3; // raises the payload limit to the value in the payload's first byte, in KiB

    private readonly bool _callerSends;
    private readonly TaskCompletionSource<string> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _closedCalls;

    public TestConnection(Socket socket, int maxPayload, ReceiveDriver driver, bool callerSends, bool helpers = false)
        : base(socket, maxPayload, driver)
    {
        _callerSends = callerSends;
        AllowHelpers = helpers;
    }

    public ReplyTable<byte[]> Replies { get; } = new();

    /// <summary>The thread ids frames were handled on, and whether InReceiveContext held there.</summary>
    public ConcurrentQueue<(int Thread, bool InReceiveContext)> HandledOn { get; } = new();

    public Task<string> Closed => _closed.Task;

    public int ClosedCalls => Volatile.Read(ref _closedCalls);

    public void Start() => StartReceiving();

    /// <summary>Sends a request the way this connection sends; its reply completes the returned task.</summary>
    public Task<byte[]> Request(ushort kind, byte[] payload)
    {
        var (id, reply) = Replies.Add();
        Reply(kind, FrameFlags.None, id, payload);
        return reply;
    }

    protected override void OnFrame(in Frame frame)
    {
        HandledOn.Enqueue((Environment.CurrentManagedThreadId, InReceiveContext));
        var h = frame.Header;
        if ((h.Flags & FrameFlags.Reply) != 0)
        {
            Replies.Complete(h.RequestId, frame.Payload.ToArray());
            return;
        }
        switch (h.Kind)
        {
            case Echo:
                Reply(h.Kind, FrameFlags.Reply, h.RequestId, frame.Payload.ToArray());
                break;
            case Refuse:
                Reply(h.Kind, FrameFlags.Reply | FrameFlags.Error, h.RequestId, "refused"u8.ToArray());
                throw new ProtocolException("refused by the test");
            case Raise:
                MaxPayload = frame.Payload.FirstSpan[0] << 10;
                break;
            default:
                throw new ProtocolException($"unknown kind {h.Kind}");
        }
    }

    private void Reply(ushort kind, FrameFlags flags, ulong id, byte[] payload)
    {
        if (!_callerSends)
        {
            Send(kind, flags, id, payload);
            return;
        }
        Append(kind, flags, id, payload, static (w, p) => w.Raw(p));
        Flush();
    }

    protected override void OnClosed(string reason)
    {
        Interlocked.Increment(ref _closedCalls);
        Replies.FailAll(() => new IOException("closed: " + reason));
        _closed.TrySetResult(reason);
    }
}

/// <summary>The peer: frames by hand over a raw socket.</summary>
internal sealed class RawPeer(Socket socket) : RawFrameSocket(socket, 16 << 20)
{
    public Socket Socket { get; } = socket;
}

internal static class ConnectionKit
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>The drivers and send paths every behaviour is checked with.</summary>
    public static TheoryData<string, bool> Modes => new()
    {
        { "async", false },
        { "async", true },
        { "thread", false },
        { "thread", true },
    };

    public static ReceiveDriver Driver(string name) =>
        name == "async" ? ReceiveDriver.Async : ReceiveDriver.Thread(TimeSpan.FromMicroseconds(20), "test-receive");

    /// <summary>A connected loopback pair: (the connection's socket, the peer's socket).</summary>
    public static async Task<(Socket Ours, Socket Theirs)> PairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var theirs = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accept = listener.AcceptAsync();
        await theirs.ConnectAsync(listener.LocalEndPoint!);
        var ours = await accept;
        ours.NoDelay = true;
        return (ours, theirs);
    }

    public static async Task<(TestConnection Connection, RawPeer Peer)> StartAsync(string driver, bool callerSends, int maxPayload = 1 << 20, bool helpers = false)
    {
        var (ours, theirs) = await PairAsync();
        var connection = new TestConnection(ours, maxPayload, Driver(driver), callerSends, helpers);
        connection.Start();
        return (connection, new RawPeer(theirs));
    }
}
