using System.Buffers;
using Ray.Cluster.Wire;
using Ray.Contract.Ids;
using Ray.Objects;
using Ray.Runtime;
using Ray.Protocol;

namespace Ray.Core.Tests;

/// <summary>Ids carry a node tag; a stored object's wire form names its node.</summary>
public class NodeUniqueIdTests
{
    [Fact]
    public void Two_embedded_runtimes_make_ids_with_a_node_tag_and_never_the_same_owner()
    {
        var a = new RuntimeCore(new RuntimeOptions { NumCpus = 1 });
        var b = new RuntimeCore(new RuntimeOptions { NumCpus = 1 });
        try
        {
            Assert.NotEqual(a.OwnerId, b.OwnerId);
            Assert.NotEqual(0u, OwnerIds.NodeTag(a.OwnerId));
            // No process id in an id: the owner's top half is the node tag, not the pid's bits.
            Assert.NotEqual((ulong)Environment.ProcessId, a.OwnerId >> 24);
            Assert.Equal(a.OwnerId, a.NewTaskId().Owner);
        }
        finally
        {
            a.Dispose();
            b.Dispose();
        }
    }

    [Fact]
    public void Ids_of_two_nodes_differ_in_their_tag_even_with_the_same_owner_number()
    {
        var a = OwnerIds.Driver(OwnerIds.NodeTagOf("0123abcd0000000000000000000000ff"), 1);
        var b = OwnerIds.Driver(OwnerIds.NodeTagOf("89abcdef0000000000000000000000ff"), 1);
        Assert.NotEqual(a, b);
        Assert.Equal(0x0123abcdu, OwnerIds.NodeTag(a));
        Assert.NotEqual(OwnerIds.Driver(0x0123abcd, 5), OwnerIds.Worker(0x0123abcd, 5));
        Assert.NotEqual(0u, OwnerIds.NodeTagOf("00000000000000000000000000000000"));
    }

    [Fact]
    public void A_value_in_the_node_store_travels_with_the_tag_of_its_node()
    {
        var store = new MemoryStore(OwnerIds.Compose(0xABCD1234, 7), TimeSpan.Zero, 1 << 20, new RuntimeOptions());
        var id = store.NewId();
        var buffer = new ArrayBufferWriter<byte>();
        ValueWire.WritePlasma(new PayloadWriter(buffer), id, 1 << 20, store.NodeTag);
        var offset = 0;
        var value = ValueWire.Read(buffer.WrittenSpan, ref offset);
        Assert.Equal(buffer.WrittenCount, offset);
        Assert.Equal(ValueWire.InPlasma, value.Tag);
        Assert.Equal(id, value.PlasmaId);
        Assert.Equal(1L << 20, value.Size);
        Assert.Equal(0xABCD1234u, value.Location);
    }
}
