using System.Buffers;
using Ray.Cluster.Wire;
using Ray.Protocol;
using Ray.Contract.Messages;
using Ray.Raylet.Server;
using static Ray.Raylet.Tests.LeaseKit;

namespace Ray.Raylet.Tests;

/// <summary>The cluster messages (10-13) through one connection's handler, without a socket.</summary>
public class ClusterHandlerTests
{
    private static Frame F(ClusterMessageKind kind, byte[] payload, FrameFlags flags = FrameFlags.None, ulong id = 1) =>
        new(new FrameHeader(payload.Length, (ushort)kind, flags, id), new ReadOnlySequence<byte>(payload));

    private static (RayletRequestHandler Handler, ListSink Sink) Connect(FakeHost host, string peer = "test peer")
    {
        var sink = new ListSink();
        var h = new RayletRequestHandler(host, sink, peer);
        h.Handle(F(ClusterMessageKind.Hello, ClusterCodec.EncodeHello(ClusterProtocol.Version, host.ClusterToken), id: 100));
        return (h, sink);
    }

    [Fact]
    public void The_raylet_kinds_match_the_cluster_kinds_of_Core()
    {
        Assert.Equal((ushort)ClusterMessageKind.RegisterJob, (ushort)ClusterMessageKind.RegisterJob);
        Assert.Equal((ushort)ClusterMessageKind.RequestLease, (ushort)ClusterMessageKind.RequestLease);
        Assert.Equal((ushort)ClusterMessageKind.ReturnLease, (ushort)ClusterMessageKind.ReturnLease);
        Assert.Equal((ushort)ClusterMessageKind.RegisterWorker, (ushort)ClusterMessageKind.RegisterWorker);
        foreach (var code in Enum.GetValues<ClusterErrorCode>())
            Assert.Equal(code.ToString(), ((ClusterErrorCode)(ushort)code).ToString());
    }

    [Fact]
    public void A_driver_registers_leases_a_worker_that_registered_and_its_close_ends_the_job()
    {
        var host = new FakeHost();
        var (driver, dsink) = Connect(host, "driver");
        driver.Handle(F(ClusterMessageKind.RegisterJob, ClusterCodec.EncodeRegisterJob(Job("j", "/code")), id: 1));
        var accepted = ClusterCodec.DecodeJobAccepted(new ReadOnlySequence<byte>(dsink.Frames[^1].Payload));
        Assert.Equal(FrameFlags.Reply, dsink.Frames[^1].Flags);
        Assert.Contains(new ResourceAmount("CPU", 4 * U), accepted.Resources);
        var (launch, process) = Assert.Single(host.Launcher.All); // prestart 1
        Assert.Equal(accepted.JobId, launch.JobId);

        driver.Handle(F(ClusterMessageKind.RequestLease, ClusterCodec.EncodeRequestLease(LeasePurpose.Task, Cpu(1)), id: 2));
        Assert.False(Grants(dsink).ContainsKey(2));

        var (worker, wsink) = Connect(host, "worker");
        worker.Handle(F(ClusterMessageKind.RegisterWorker, ClusterCodec.EncodeRegisterWorker(new WorkerRegistration(launch.JobId, launch.WorkerId, process.Pid, "/tmp/w.sock")), id: 3));
        Assert.Equal((FrameFlags.Reply, 3ul), (wsink.Frames[^1].Flags, wsink.Frames[^1].RequestId));
        var grant = Grants(dsink)[2];
        Assert.Equal(("/tmp/w.sock", process.Pid), (grant.WorkerSocket, grant.Pid));

        driver.Handle(F(ClusterMessageKind.ReturnLease, ClusterCodec.EncodeReturnLease(grant.LeaseId, false), FrameFlags.NoReply, id: 4));
        driver.Handle(F(ClusterMessageKind.ReturnLease, ClusterCodec.EncodeReturnLease(grant.LeaseId, false), id: 5));
        Assert.Equal((FrameFlags.Reply, 5ul), (dsink.Frames[^1].Flags, dsink.Frames[^1].RequestId)); // one ack, for the two-way one
        Assert.Equal(1, host.Leases.Counts().IdleWorkers);

        driver.OnClosed("peer closed the connection");
        Assert.True(process.Killed);
        Assert.Equal(0, host.Leases.Counts().Jobs);
        worker.OnClosed("killed"); // the worker's own close afterwards: nothing left to do
        Assert.Equal(0, host.Leases.Counts().Workers);
    }

    [Fact]
    public void Lease_messages_before_RegisterJob_and_a_second_RegisterJob_get_NoJob_and_keep_the_connection()
    {
        var host = new FakeHost();
        var (h, sink) = Connect(host);
        h.Handle(F(ClusterMessageKind.RequestLease, ClusterCodec.EncodeRequestLease(LeasePurpose.Task, Cpu(1)), id: 1));
        h.Handle(F(ClusterMessageKind.ReturnLease, ClusterCodec.EncodeReturnLease(1, false), id: 2));
        h.Handle(F(ClusterMessageKind.ReturnLease, ClusterCodec.EncodeReturnLease(1, false), FrameFlags.NoReply, id: 3)); // one-way: silent
        Assert.Equal(ClusterErrorCode.NoJob, Errors(sink)[1].Code);
        Assert.Equal(ClusterErrorCode.NoJob, Errors(sink)[2].Code);
        Assert.False(Errors(sink).ContainsKey(3));

        h.Handle(F(ClusterMessageKind.RegisterJob, ClusterCodec.EncodeRegisterJob(Job()), id: 4));
        h.Handle(F(ClusterMessageKind.RegisterJob, ClusterCodec.EncodeRegisterJob(Job()), id: 5));
        var (code, message) = Errors(sink)[5];
        Assert.Equal(ClusterErrorCode.NoJob, code);
        Assert.Contains("already", message);
        Assert.Equal(1, host.Leases.Counts().Jobs);

        // Infeasible: an error reply; the connection stays.
        h.Handle(F(ClusterMessageKind.RequestLease, ClusterCodec.EncodeRequestLease(LeasePurpose.Task, Cpu(100)), id: 6));
        Assert.Equal(ClusterErrorCode.Infeasible, Errors(sink)[6].Code);
        h.Handle(F(ClusterMessageKind.Status, [], id: 7));
        Assert.Equal((FrameFlags.Reply, 7ul), (sink.Frames[^1].Flags, sink.Frames[^1].RequestId));
    }

    [Theory]
    [InlineData(1u, 99u, ClusterErrorCode.ProtocolError)]  // not a worker this raylet started
    [InlineData(42u, 1u, ClusterErrorCode.NoJob)]          // no such job
    public void A_worker_registering_for_an_unknown_job_or_id_is_refused_and_closed(uint jobId, uint workerId, ClusterErrorCode expected)
    {
        var host = new FakeHost();
        var (driver, _) = Connect(host, "driver");
        driver.Handle(F(ClusterMessageKind.RegisterJob, ClusterCodec.EncodeRegisterJob(Job()), id: 1));
        var (w, sink) = Connect(host, "worker");
        Assert.Throws<ProtocolException>(() => w.Handle(F(ClusterMessageKind.RegisterWorker,
            ClusterCodec.EncodeRegisterWorker(new WorkerRegistration(jobId, workerId, RecordingLauncher.PidBase + 1, "/tmp/s")), id: 9)));
        Assert.Equal(expected, Errors(sink)[9].Code);
        Assert.Equal(0, host.Leases.Counts().IdleWorkers);
    }

    [Fact]
    public void Malformed_or_misused_cluster_messages_close_only_that_connection()
    {
        var host = new FakeHost();
        var cases = new (ClusterMessageKind Kind, byte[] Payload, FrameFlags Flags, bool Driver)[]
        {
            (ClusterMessageKind.RequestLease, [7], FrameFlags.None, true),                                             // truncated
            (ClusterMessageKind.RequestLease, [3, 0, 0], FrameFlags.None, true),                                       // unknown purpose (2 is a detached actor)
            (ClusterMessageKind.RequestLease, ClusterCodec.EncodeRequestLease(LeasePurpose.Task, Cpu(1)), FrameFlags.NoReply, true), // needs a reply
            (ClusterMessageKind.ReturnLease, [1, 0, 0, 0, 0, 0, 0, 0, 2], FrameFlags.None, true),                       // unknown flag
            (ClusterMessageKind.RegisterJob, ClusterCodec.EncodeRegisterJob(Job()), FrameFlags.NoReply, false),         // needs a reply
            (ClusterMessageKind.RegisterJob, [.. ClusterCodec.EncodeRegisterJob(Job()), 2], FrameFlags.None, false),   // unknown flags
            (ClusterMessageKind.RegisterJob, [.. ClusterCodec.EncodeRegisterJob(Job()), 0, 0], FrameFlags.None, false), // trailing byte after the flags
            (ClusterMessageKind.RegisterWorker, ClusterCodec.EncodeRegisterWorker(new(1, 1, 1, "s")), FrameFlags.None, true), // a driver is no worker
        };
        foreach (var (kind, payload, flags, asDriver) in cases)
        {
            var (h, sink) = Connect(host);
            if (asDriver) h.Handle(F(ClusterMessageKind.RegisterJob, ClusterCodec.EncodeRegisterJob(Job()), id: 1));
            Assert.Throws<ProtocolException>(() => h.Handle(F(kind, payload, flags, id: 50)));
            Assert.Equal(ClusterErrorCode.ProtocolError, Errors(sink)[50].Code);
            h.OnClosed("protocol error");
        }
        Assert.Equal(0, host.Leases.Counts().Jobs);
    }
}
