using System.Buffers;
using Ray.Contract.Messages;
using Ray.Protocol;
using Ray.Raylet.Server;
using static Ray.Raylet.Tests.LeaseKit;

namespace Ray.Raylet.Tests;

/// <summary>Frames and authenticated connections for the handler tests in this file.</summary>
internal static class Wire
{
    internal static Frame F(ClusterMessageKind kind, byte[] payload, FrameFlags flags = FrameFlags.None, ulong id = 1) =>
        new(new FrameHeader(payload.Length, (ushort)kind, flags, id), new ReadOnlySequence<byte>(payload));

    internal static (RayletRequestHandler Handler, ListSink Sink) Connect(FakeHost host, string peer)
    {
        var sink = new ListSink();
        var h = new RayletRequestHandler(host, sink, peer);
        h.Handle(F(ClusterMessageKind.Hello, ClusterCodec.EncodeHello(ClusterProtocol.Version, host.ClusterToken), id: 100));
        return (h, sink);
    }
}

/// <summary>WantObject / ObjectValue / CancelObject (24-26): the raylet routes borrowed-object traffic by owner id and worker id.</summary>
public class BorrowingRouteTests
{
    private static Frame F(ClusterMessageKind kind, byte[] payload, FrameFlags flags = FrameFlags.NoReply, ulong id = 0) => Wire.F(kind, payload, flags, id);

    private static (RayletRequestHandler Handler, ListSink Sink) Connect(FakeHost host, string peer) => Wire.Connect(host, peer);

    private static (RayletRequestHandler Driver, ListSink DriverSink, ulong Owner, RayletRequestHandler Worker, ListSink WorkerSink, uint WorkerId) Setup(FakeHost host)
    {
        var (driver, dsink) = Connect(host, "driver");
        driver.Handle(F(ClusterMessageKind.RegisterJob, ClusterCodec.EncodeRegisterJob(Job("j", "/code")), FrameFlags.None, 1));
        var accepted = ClusterCodec.DecodeJobAccepted(new ReadOnlySequence<byte>(dsink.Frames[^1].Payload));
        var (launch, process) = Assert.Single(host.Launcher.All);
        var (worker, wsink) = Connect(host, "worker");
        worker.Handle(F(ClusterMessageKind.RegisterWorker, ClusterCodec.EncodeRegisterWorker(new WorkerRegistration(launch.JobId, launch.WorkerId, process.Pid, "/tmp/w.sock")), FrameFlags.None, 2));
        return (driver, dsink, accepted.OwnerId, worker, wsink, launch.WorkerId);
    }

    private static (ushort Kind, FrameFlags Flags, ulong RequestId, byte[] Payload) Last(ListSink sink, ClusterMessageKind kind) =>
        sink.Frames.Last(f => f.Kind == (ushort)kind);

    [Fact]
    public void A_want_reaches_the_owner_and_its_value_reaches_the_worker_once()
    {
        var host = new FakeHost();
        var (driver, dsink, owner, worker, wsink, workerId) = Setup(host);
        worker.Handle(F(ClusterMessageKind.WantObject, ClusterCodec.EncodeWantObject(owner, 7)));
        var want = ClusterCodec.DecodeWantObjectFor(new ReadOnlySequence<byte>(Last(dsink, ClusterMessageKind.WantObject).Payload));
        Assert.Equal((workerId, owner, 7ul), want);

        var value = PayloadWriter.Build(0, (PayloadWriter w, int _) => { w.U32(workerId); w.U64(owner); w.U64(7); w.U8(0); w.U8(0); w.Bytes([1, 2, 3]); });
        driver.Handle(F(ClusterMessageKind.ObjectValue, value));
        var passed = Last(wsink, ClusterMessageKind.ObjectValue).Payload;
        Assert.Equal(value.AsSpan(4).ToArray(), passed); // the worker id stripped
        var before = wsink.Frames.Count;
        driver.Handle(F(ClusterMessageKind.ObjectValue, value)); // answered already: dropped
        Assert.Equal(before, wsink.Frames.Count);
    }

    [Fact]
    public void An_unknown_owner_and_an_owner_that_ends_fail_the_want_with_a_lost_object()
    {
        var host = new FakeHost();
        var (driver, _, owner, worker, wsink, _) = Setup(host);
        worker.Handle(F(ClusterMessageKind.WantObject, ClusterCodec.EncodeWantObject(owner + 12345, 1)));
        Assert.Contains("not connected", System.Text.Encoding.UTF8.GetString(Last(wsink, ClusterMessageKind.ObjectValue).Payload));

        worker.Handle(F(ClusterMessageKind.WantObject, ClusterCodec.EncodeWantObject(owner, 2)));
        var count = wsink.Frames.Count(f => f.Kind == (ushort)ClusterMessageKind.ObjectValue);
        driver.OnClosed("driver exited");
        var failed = Last(wsink, ClusterMessageKind.ObjectValue).Payload;
        Assert.Equal(count + 1, wsink.Frames.Count(f => f.Kind == (ushort)ClusterMessageKind.ObjectValue));
        Assert.Equal(1, failed[16]); // the ref's state: failed
        Assert.Contains("Ray.ObjectLostException", System.Text.Encoding.UTF8.GetString(failed));
    }

    [Fact]
    public void Only_workers_want_or_cancel_and_only_drivers_answer()
    {
        var host = new FakeHost();
        var (driver, _, owner, worker, _, workerId) = Setup(host);
        Assert.Throws<ProtocolException>(() => driver.Handle(F(ClusterMessageKind.WantObject, ClusterCodec.EncodeWantObject(owner, 1))));
        var host2 = new FakeHost();
        var (_, _, owner2, worker2, _, id2) = Setup(host2);
        Assert.Throws<ProtocolException>(() => worker2.Handle(F(ClusterMessageKind.ObjectValue, PayloadWriter.Build(0, (PayloadWriter w, int _) => { w.U32(id2); w.U64(owner2); w.U64(1); w.U8(0); }))));
        var host3 = new FakeHost();
        var (driver3, dsink3, owner3, worker3, _, _) = Setup(host3);
        worker3.Handle(F(ClusterMessageKind.CancelObject, ClusterCodec.EncodeCancelObject(owner3, 9, force: false, recursive: true)));
        Assert.Equal((owner3, 9ul, false, true), ClusterCodec.DecodeCancelObject(new ReadOnlySequence<byte>(Last(dsink3, ClusterMessageKind.CancelObject).Payload)));
        Assert.Throws<ProtocolException>(() => driver3.Handle(F(ClusterMessageKind.CancelObject, ClusterCodec.EncodeCancelObject(owner3, 9, false, false))));
        Assert.Throws<ProtocolException>(() => worker3.Handle(F(ClusterMessageKind.CancelObject, [1, 2, 3]))); // truncated
        GC.KeepAlive(worker);
        GC.KeepAlive(workerId);
    }
}

/// <summary>A detached actor's lease outlives its job only once its worker said the actor exists (ActorCreated, 27).</summary>
public class DetachedLeaseTests
{
    private static Frame F(ClusterMessageKind kind, byte[] payload, FrameFlags flags = FrameFlags.None, ulong id = 1) => Wire.F(kind, payload, flags, id);

    private static (RayletRequestHandler Handler, ListSink Sink) Connect(FakeHost host, string peer) => Wire.Connect(host, peer);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_lease_is_kept_at_job_end_only_when_the_actor_was_created(bool created)
    {
        var host = new FakeHost();
        var (driver, dsink) = Connect(host, "driver");
        driver.Handle(F(ClusterMessageKind.RegisterJob, ClusterCodec.EncodeRegisterJob(Job("j", "/code")), id: 1));
        driver.Handle(F(ClusterMessageKind.RequestLease, ClusterCodec.EncodeRequestLease(LeasePurpose.DetachedActor, Cpu(1)), id: 2));
        var (launch, process) = host.Launcher.All[^1];
        var (worker, _) = Connect(host, "worker");
        worker.Handle(F(ClusterMessageKind.RegisterWorker, ClusterCodec.EncodeRegisterWorker(new WorkerRegistration(launch.JobId, launch.WorkerId, process.Pid, "/tmp/w.sock")), id: 3));
        Assert.True(Grants(dsink).ContainsKey(2));
        if (created) worker.Handle(F(ClusterMessageKind.ActorCreated, [], FrameFlags.NoReply, 0));
        driver.OnClosed("the driver died");
        Assert.Equal(!created, process.Killed);
        Assert.Throws<ProtocolException>(() => driver.Handle(F(ClusterMessageKind.ActorCreated, [], FrameFlags.NoReply, 0))); // a driver has no actor
    }
}

/// <summary>A connection's waits (named-actor lookups) go with it when it closes.</summary>
public class WaiterPurgeTests
{
    private static Frame F(ClusterMessageKind kind, byte[] payload, ulong id) => Wire.F(kind, payload, id: id);

    private static (RayletRequestHandler Handler, ListSink Sink) Driver(FakeHost host, string peer)
    {
        var (h, sink) = Wire.Connect(host, peer);
        h.Handle(F(ClusterMessageKind.RegisterJob, ClusterCodec.EncodeRegisterJob(Job(peer, "/code")), 1));
        return (h, sink);
    }

    [Fact]
    public void A_lookup_waiting_for_a_claimed_name_is_dropped_when_its_connection_closes()
    {
        var host = new FakeHost();
        var (owner, _) = Driver(host, "owner");
        owner.Handle(F(ClusterMessageKind.RegisterActorName, ClusterCodec.EncodeActorName("ns", "counter", "T"), 2)); // claimed, not alive yet
        var (looker, lsink) = Driver(host, "looker");
        looker.Handle(F(ClusterMessageKind.LookupActorName, ClusterCodec.EncodeActorName("ns", "counter"), 3));
        Assert.DoesNotContain(lsink.Frames, f => f.RequestId == 3); // waits for the address
        Assert.Equal(1, host.Leases.WaiterCount);
        looker.OnClosed("gone");
        Assert.Equal(0, host.Leases.WaiterCount);
        GC.KeepAlive(owner);
    }
}

/// <summary>The head's node table (RegisterNode 28, NodeHeartbeat 29): registration, heartbeats, the silence timeout, bad input.</summary>
public class NodeTableTests
{
    private static Ray.Contract.Messages.NodeStatus Node(string id, double cpuUsed = 0) =>
        new(id, "127.0.0.1:1" + id.Length, false, true, [new Ray.Contract.Messages.ResourceUsage("CPU", 4, cpuUsed)]);

    [Fact]
    public void A_silent_node_is_marked_dead_after_the_timeout_and_a_heartbeat_keeps_it_alive()
    {
        var self = new Ray.Contract.Messages.NodeStatus("head", "127.0.0.1:9", true, true, []);
        var table = new Ray.Raylet.Gcs.NodeTable(TimeSpan.FromMilliseconds(200), () => self);
        var (a, b) = (new object(), new object());
        table.Register(Node("n1"), a);
        table.Register(Node("n2"), b);
        Assert.Throws<InvalidOperationException>(() => table.Register(Node("n1"), b)); // a live node's id, from another connection
        Assert.Throws<InvalidOperationException>(() => table.Register(Node("head"), b)); // the head's own id
        Assert.False(table.Heartbeat(Node("n1"), b)); // not registered on that connection
        for (var i = 0; i < 4; i++)
        {
            Thread.Sleep(100);
            Assert.True(table.Heartbeat(Node("n1", cpuUsed: i), a));
            table.Sweep();
        }
        var nodes = table.Snapshot();
        Assert.Equal(["head", "n1", "n2"], nodes.Select(n => n.NodeId));
        Assert.True(nodes[1].Alive);
        Assert.Equal(3, nodes[1].Resources[0].Used); // the latest heartbeat's
        Assert.False(nodes[2].Alive); // silent past 200 ms
        table.Disconnected(a);
        Assert.False(table.Snapshot()[1].Alive);
        table.Register(Node("n1"), b); // back, on a new connection: alive again
        Assert.True(table.Snapshot()[1].Alive);
    }

    [Fact]
    public void RegisterNode_is_refused_by_a_raylet_that_is_not_the_head_and_a_stray_heartbeat_closes_the_connection()
    {
        var host = new FakeHost(); // no node table: not a head
        var (h, _) = Wire.Connect(host, "node");
        var e = Assert.Throws<ProtocolException>(() => h.Handle(Wire.F(ClusterMessageKind.RegisterNode, ClusterCodec.EncodeNode(Node("n1")))));
        Assert.Contains("not the head", e.Message);
        var (h2, _) = Wire.Connect(host, "node2");
        Assert.Throws<ProtocolException>(() => h2.Handle(Wire.F(ClusterMessageKind.NodeHeartbeat, ClusterCodec.EncodeNode(Node("n1")), FrameFlags.NoReply)));
        Assert.Throws<ProtocolException>(() => ClusterCodec.DecodeNode(new ReadOnlySequence<byte>(ClusterCodec.EncodeNode(Node("") )), (ushort)ClusterMessageKind.RegisterNode)); // no id
    }
}
