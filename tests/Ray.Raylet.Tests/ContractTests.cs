using System.Buffers;
using System.Runtime.CompilerServices;
using Ray.Contract.Messages;
using Ray.Protocol;

namespace Ray.Raylet.Tests;

/// <summary>The raylet builds on the contract and Core's public API; the contract's codecs round-trip and refuse bad bytes.</summary>
public class ContractTests
{
    [Fact]
    public void Ray_core_shows_its_internals_to_no_raylet_assembly()
    {
        var friends = typeof(RayRuntime).Assembly.GetCustomAttributes(typeof(InternalsVisibleToAttribute), false)
            .Cast<InternalsVisibleToAttribute>().Select(a => a.AssemblyName).ToList();
        Assert.DoesNotContain("ray", friends);
        Assert.DoesNotContain(typeof(Ray.Raylet.Node.NodeManager).Assembly.GetName().Name, friends);
    }

    private static byte[] Build(Action<PayloadWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(new PayloadWriter(buffer));
        return buffer.WrittenSpan.ToArray();
    }

    [Fact]
    public void WorkerHello_and_DefineFunction_are_written_and_read_by_one_codec()
    {
        var hello = ClusterCodec.DecodeWorkerHello(new ReadOnlySequence<byte>(Build(w => ClusterCodec.WriteWorkerHello(w, "tok", 7, [0, 3]))));
        Assert.Equal((ClusterProtocol.Version, "tok", 7u), (hello.Version, hello.Token, hello.JobId));
        Assert.Equal([0, 3], hello.GpuIds);
        var def = new FunctionDefinition(4, "/a.dll", "T, A", 0x06000001, "M");
        Assert.Equal(def, ClusterCodec.DecodeDefineFunction(new ReadOnlySequence<byte>(Build(w => ClusterCodec.WriteDefineFunction(w, def)))));

        var trailing = Build(w => { ClusterCodec.WriteDefineFunction(w, def); w.U8(1); });
        Assert.Throws<ProtocolException>(() => ClusterCodec.DecodeDefineFunction(new ReadOnlySequence<byte>(trailing)));
        var truncated = Build(w => ClusterCodec.WriteWorkerHello(w, "tok", 7, []))[..6];
        Assert.Throws<ProtocolException>(() => ClusterCodec.DecodeWorkerHello(new ReadOnlySequence<byte>(truncated)));
    }

    [Fact]
    public void JobAccepted_carries_the_owner_id_and_reads_without_it()
    {
        var a = new JobAccepted(3, "node", "/p", "/s", [new ResourceAmount("CPU", 20_000)]) { OwnerId = 0xABCD_0000_0000_0003 };
        var back = ClusterCodec.DecodeJobAccepted(new ReadOnlySequence<byte>(ClusterCodec.EncodeJobAccepted(a)));
        Assert.Equal(a.OwnerId, back.OwnerId);
        Assert.Equal(a.Resources, back.Resources);
        var old = ClusterCodec.EncodeJobAccepted(a)[..^8]; // as an older raylet wrote it
        Assert.Equal(0UL, ClusterCodec.DecodeJobAccepted(new ReadOnlySequence<byte>(old)).OwnerId);
    }
}
