using Ray.Contract.Messages;
using System.Buffers.Binary;
using System.Text;
using Ray.Cluster.Wire;
using Ray.Protocol;

namespace Ray.Cluster.Tests;

/// <summary>Raw frames for tests that talk to a worker's socket by hand.</summary>
internal static class WorkerFrames
{
    /// <summary>A frame header and its payload, as bytes to send.</summary>
    public static byte[] Frame(ushort kind, ulong id, byte[] payload, FrameFlags flags = FrameFlags.None)
    {
        var f = new byte[FrameHeader.Size + payload.Length];
        new FrameHeader(payload.Length, kind, flags, id).Write(f);
        payload.CopyTo(f, FrameHeader.Size);
        return f;
    }

    /// <summary>A u16 length and the UTF-8 bytes of <paramref name="s"/>.</summary>
    public static byte[] Utf8Field(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        var f = new byte[2 + b.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(f, (ushort)b.Length);
        b.CopyTo(f, 2);
        return f;
    }

    /// <summary>A WorkerHello payload: version, token, job id.</summary>
    public static byte[] WorkerHello(string token, uint job) =>
        [.. BitConverter.GetBytes(ClusterProtocol.Version), .. Utf8Field(token), .. BitConverter.GetBytes(job)];
}
