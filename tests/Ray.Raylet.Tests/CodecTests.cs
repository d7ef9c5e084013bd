using System.Buffers;
using Ray.Protocol;
using Ray.Contract.Messages;

namespace Ray.Raylet.Tests;

public class CodecTests
{
    private static ReadOnlySequence<byte> Seq(byte[] b) => new(b);

    [Fact]
    public void Hello_round_trips()
    {
        var (version, token) = ClusterCodec.DecodeHello(Seq(ClusterCodec.EncodeHello(7, "abc")));
        Assert.Equal(7u, version);
        Assert.Equal("abc", token);
        var reply = new HelloReply(1, "node", "/tmp/sock", "/dev/shm/x");
        Assert.Equal(reply, ClusterCodec.DecodeHelloReply(Seq(ClusterCodec.EncodeHelloReply(reply))));
    }

    [Fact]
    public void Hello_with_a_token_longer_than_the_limit_is_a_protocol_error()
    {
        var payload = ClusterCodec.EncodeHello(1, new string('a', ClusterProtocol.MaxTokenLength + 1));
        var e = Assert.Throws<ProtocolException>(() => ClusterCodec.DecodeHello(Seq(payload)));
        Assert.Contains("exceeds the limit", e.Message);
        ClusterCodec.DecodeHello(Seq(ClusterCodec.EncodeHello(1, new string('a', ClusterProtocol.MaxTokenLength))));
    }

    [Fact]
    public void Status_round_trips_every_field()
    {
        var report = FakeHost.Report;
        var decoded = ClusterCodec.DecodeStatus(Seq(ClusterCodec.EncodeStatus(report)));
        Assert.Equal(report.SessionDir, decoded.SessionDir);
        Assert.Equal(TimeSpan.FromMilliseconds(42500), decoded.Uptime);
        Assert.Equal(report.Workers, decoded.Workers);
        Assert.Equal(report.IdleWorkers, decoded.IdleWorkers);
        Assert.Equal(report.QueuedTasks, decoded.QueuedTasks);
        Assert.Equal(report.Clients, decoded.Clients);
        Assert.Equal(report.Objects, decoded.Objects);
        Assert.Equal(report.ObjectStoreUsedBytes, decoded.ObjectStoreUsedBytes);
        Assert.Equal(report.ObjectStoreCapacityBytes, decoded.ObjectStoreCapacityBytes);
        Assert.Equal(report.SpilledBytes, decoded.SpilledBytes);
        Assert.Equal(report.Nodes.Count, decoded.Nodes.Count);
        for (var i = 0; i < report.Nodes.Count; i++)
        {
            var (a, b) = (report.Nodes[i], decoded.Nodes[i]);
            Assert.Equal((a.NodeId, a.Address, a.IsHead, a.Alive), (b.NodeId, b.Address, b.IsHead, b.Alive));
            Assert.Equal(a.Resources, b.Resources); // fixed point is exact for 1/10000 steps
        }
    }

    [Fact]
    public void Status_with_many_resources_fits_the_frame_limit()
    {
        var resources = Enumerable.Range(0, Node.NodeResources.MaxResources)
            .Select(i => new ResourceUsage(new string('r', 200) + i, i, 0)).ToList();
        var report = FakeHost.Report with { Nodes = [new NodeStatus("n", "a:1", true, true, resources)] };
        var bytes = ClusterCodec.EncodeStatus(report);
        Assert.True(bytes.Length <= ClusterProtocol.MaxPayload, $"{bytes.Length} bytes");
        Assert.Equal(resources, ClusterCodec.DecodeStatus(Seq(bytes)).Nodes[0].Resources);
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(1e16)]
    public void Resource_amounts_out_of_range_are_refused_when_encoding(double amount)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ClusterCodec.ToFixed(amount));
    }

    [Fact]
    public void Negative_amounts_on_the_wire_are_a_protocol_error()
    {
        var bytes = ClusterCodec.EncodeStatus(FakeHost.Report with { Nodes = [new NodeStatus("n", "a:1", true, true, [new ResourceUsage("CPU", 1, 0)])] });
        // The CPU total sits right after its name; make it negative.
        var at = Array.LastIndexOf(bytes, (byte)'U') + 1;
        bytes[at + 7] = 0x80;
        Assert.Throws<ProtocolException>(() => ClusterCodec.DecodeStatus(Seq(bytes)));
    }

    [Fact]
    public void Error_payload_round_trips()
    {
        var (code, message) = ClusterCodec.DecodeError(Seq(ClusterCodec.EncodeError(ClusterErrorCode.Unauthenticated, "nope")), 1);
        Assert.Equal(ClusterErrorCode.Unauthenticated, code);
        Assert.Equal("nope", message);
    }

    [Fact]
    public void Every_truncation_of_a_status_reply_is_a_protocol_error()
    {
        var bytes = ClusterCodec.EncodeStatus(FakeHost.Report);
        for (var n = 0; n < bytes.Length; n++)
            Assert.Throws<ProtocolException>(() => ClusterCodec.DecodeStatus(new ReadOnlySequence<byte>(bytes, 0, n)));
        Assert.Throws<ProtocolException>(() => ClusterCodec.DecodeStatus(Seq([.. bytes, 0]))); // trailing byte
    }
}
