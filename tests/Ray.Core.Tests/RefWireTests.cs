using System.Buffers;
using Ray.Cluster.Wire;
using Ray.Protocol;

namespace Ray.Core.Tests;

/// <summary>Decoding refs from another process (value tags 3 and 4) refuses hostile bytes with a ProtocolException.</summary>
public class RefWireTests
{
    private static byte[] Build(Action<PayloadWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(new PayloadWriter(buffer));
        return buffer.WrittenSpan.ToArray();
    }

    // A value with refs (tag 4) holding one ready ref whose value is again a value with refs ...
    // nested n deep around a 3-byte inline value. Written without recursion, so a deep one can be built.
    private static void Nested(PayloadWriter w, int depth)
    {
        for (var d = depth; d > 0; d--)
        {
            w.U8(ValueWire.WithRefs);
            w.U16(1);
            w.U64(7);
            w.U64((ulong)d);
            w.U8(0); // ready
        }
        ValueWire.WriteInline(w, [1, 2, 3]);
        for (var d = 0; d < depth; d++) w.Bytes([9, 9]);
    }

    [Fact]
    public void Nesting_within_the_limit_reads_and_beyond_it_is_refused_without_recursing_further()
    {
        var ok = Build(w => Nested(w, ValueWire.MaxRefDepth));
        var offset = 0;
        Assert.Equal(ValueWire.WithRefs, ValueWire.Read(ok, ref offset).Tag);
        Assert.Equal(ok.Length, offset);

        var deep = Build(w => Nested(w, 100_000)); // would overflow the stack if read recursively without a bound
        offset = 0;
        var e = Assert.Throws<ProtocolException>(() => ValueWire.Read(deep, ref offset));
        Assert.Contains("nested more than", e.Message);
    }

    [Theory]
    [InlineData(new byte[] { ValueWire.Ref })]                         // no state
    [InlineData(new byte[] { ValueWire.Ref, 7 })]                      // unknown state
    [InlineData(new byte[] { ValueWire.Ref, 0, ValueWire.Ref, 0, 0 })] // a ref whose value is a ref
    [InlineData(new byte[] { ValueWire.Ref, 1, 5, 0, (byte)'a' })]     // truncated error text
    [InlineData(new byte[] { ValueWire.WithRefs, 1, 0, 1, 2, 3 })]     // truncated table
    [InlineData(new byte[] { ValueWire.WithRefs, 0, 0, 9, 0, 0, 0, 1 })] // bytes shorter than claimed
    public void Malformed_refs_are_protocol_errors(byte[] payload)
    {
        var offset = 0;
        Assert.Throws<ProtocolException>(() => ValueWire.Read(payload, ref offset));
    }

    [Fact]
    public void Truncating_a_good_value_anywhere_is_a_protocol_error()
    {
        var good = Build(w => Nested(w, 3));
        for (var cut = 0; cut < good.Length; cut++)
        {
            var offset = 0;
            Assert.Throws<ProtocolException>(() => ValueWire.Read(good.AsSpan(0, cut), ref offset));
        }
    }
}
