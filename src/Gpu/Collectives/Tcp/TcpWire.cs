using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Ray.Protocol;

namespace Ray.Gpu.Collectives.Tcp;

/// <summary>
/// The collective messages on the project's framing (16-byte little-endian <see cref="FrameHeader"/>).
/// Handshake: the connecting rank sends <see cref="Hello"/>; the accepting one answers
/// <see cref="Welcome"/> (with the roster of endpoints when rank 0 hands it out) or <see cref="Refused"/>
/// (UTF-8 reason) and closes. Then <see cref="Data"/> frames (request id = the operation's sequence
/// number; payload = a 24-byte sub-header, then the first bytes of the message) followed by
/// <see cref="DataMore"/> frames while a message is longer than one frame; <see cref="Fail"/> spreads a
/// group failure; <see cref="Bye"/> says the rank left on purpose (its close is not a death).
/// </summary>
internal static class TcpWire
{
    public const ushort Hello = 0x4701;
    public const ushort Welcome = 0x4702;
    public const ushort Refused = 0x4703;
    public const ushort Data = 0x4710;
    public const ushort DataMore = 0x4711;
    public const ushort Fail = 0x4712;
    public const ushort Bye = 0x4713;

    public const int Version = 1;

    /// <summary>Bytes in front of a message's data in its first frame: op code, type code, element size, flags, total bytes.</summary>
    public const int DataHeaderSize = 24;

    /// <summary>Largest handshake payload accepted (names, tokens and a roster are small).</summary>
    public const int MaxHandshakePayload = 64 * 1024;

    /// <summary>What a connecting rank says about itself.</summary>
    public readonly record struct HelloMessage(string Group, string Token, int WorldSize, int Rank, int MaxFrameBytes, IPEndPoint? Listen);

    public static byte[] EncodeHello(in HelloMessage hello)
    {
        var w = new ArrayBufferWriter<byte>();
        WriteInt(w, Version);
        WriteInt(w, hello.WorldSize);
        WriteInt(w, hello.Rank);
        WriteInt(w, hello.MaxFrameBytes);
        WriteString(w, hello.Group);
        WriteString(w, hello.Token);
        WriteEndpoint(w, hello.Listen);
        return Frame(Hello, w.WrittenSpan);
    }

    public static HelloMessage DecodeHello(ReadOnlySpan<byte> payload)
    {
        int version = ReadInt(ref payload);
        if (version != Version)
        {
            throw new ProtocolException($"collective handshake version {version}; this rank speaks {Version}");
        }

        int world = ReadInt(ref payload), rank = ReadInt(ref payload), maxFrame = ReadInt(ref payload);
        string group = ReadString(ref payload), token = ReadString(ref payload);
        IPEndPoint? listen = ReadEndpoint(ref payload);
        return new HelloMessage(group, token, world, rank, maxFrame, listen);
    }

    public static byte[] EncodeWelcome(IReadOnlyList<IPEndPoint>? roster)
    {
        var w = new ArrayBufferWriter<byte>();
        WriteInt(w, roster?.Count ?? 0);
        foreach (IPEndPoint endpoint in roster ?? [])
        {
            WriteEndpoint(w, endpoint);
        }

        return Frame(Welcome, w.WrittenSpan);
    }

    public static IPEndPoint[] DecodeWelcome(ReadOnlySpan<byte> payload)
    {
        int count = ReadInt(ref payload);
        if (count < 0 || count > 1 << 16)
        {
            throw new ProtocolException($"roster of {count} endpoints");
        }

        var roster = new IPEndPoint[count];
        for (int i = 0; i < count; i++)
        {
            roster[i] = ReadEndpoint(ref payload) ?? throw new ProtocolException($"roster entry {i} is empty");
        }

        return roster;
    }

    public static byte[] EncodeText(ushort kind, string text) => Frame(kind, Encoding.UTF8.GetBytes(text));

    public static byte[] EncodeFail(CollectiveErrorKind kind, int failedRank, string detail)
    {
        var w = new ArrayBufferWriter<byte>();
        WriteInt(w, (int)kind);
        WriteInt(w, failedRank);
        WriteString(w, detail);
        return Frame(Fail, w.WrittenSpan);
    }

    public static (CollectiveErrorKind Kind, int FailedRank, string Detail) DecodeFail(ReadOnlySpan<byte> payload)
    {
        var kind = (CollectiveErrorKind)ReadInt(ref payload);
        int failedRank = ReadInt(ref payload);
        return (kind, failedRank, ReadString(ref payload));
    }

    /// <summary>One whole frame (header and payload) in a new array: handshakes and control messages only.</summary>
    public static byte[] Frame(ushort kind, ReadOnlySpan<byte> payload)
    {
        var w = new ArrayBufferWriter<byte>(FrameHeader.Size + payload.Length);
        FrameWriter.Write(w, kind, FrameFlags.None, 0, payload);
        return w.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Reads one frame from a socket in blocking mode (the handshake runs before the receive loop
    /// starts): the header is checked by <see cref="FrameParser"/> before the payload is allocated.
    /// </summary>
    public static (FrameHeader Header, byte[] Payload) ReadFrame(Socket socket, FrameParser parser, DateTime deadline)
    {
        var head = new byte[FrameHeader.Size];
        ReadExactly(socket, head, deadline);
        var sequence = new ReadOnlySequence<byte>(head);
        if (parser.TryParseFrame(ref sequence, out Frame empty))
        {
            return (empty.Header, []);
        }

        FrameHeader header = FrameHeader.Read(head);
        var payload = new byte[header.PayloadLength];
        ReadExactly(socket, payload, deadline);
        return (header, payload);
    }

    private static void ReadExactly(Socket socket, Span<byte> buffer, DateTime deadline)
    {
        while (buffer.Length > 0)
        {
            int wait = (int)Math.Max(1, (deadline - DateTime.UtcNow).TotalMilliseconds);
            if (DateTime.UtcNow >= deadline || !socket.Poll(TimeSpan.FromMilliseconds(wait), SelectMode.SelectRead))
            {
                throw new TimeoutException("the peer sent no complete handshake in time");
            }

            int n = socket.Receive(buffer);
            if (n == 0)
            {
                throw new IOException("the peer closed the connection during the handshake");
            }

            buffer = buffer[n..];
        }
    }

    private static void WriteInt(ArrayBufferWriter<byte> w, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(w.GetSpan(4), value);
        w.Advance(4);
    }

    private static void WriteString(ArrayBufferWriter<byte> w, string value)
    {
        int n = Encoding.UTF8.GetByteCount(value);
        WriteInt(w, n);
        Encoding.UTF8.GetBytes(value, w.GetSpan(n));
        w.Advance(n);
    }

    private static void WriteEndpoint(ArrayBufferWriter<byte> w, IPEndPoint? endpoint)
    {
        WriteString(w, endpoint?.Address.ToString() ?? string.Empty);
        WriteInt(w, endpoint?.Port ?? 0);
    }

    private static int ReadInt(ref ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 4)
        {
            throw new ProtocolException("truncated collective control message");
        }

        int value = BinaryPrimitives.ReadInt32LittleEndian(payload);
        payload = payload[4..];
        return value;
    }

    private static string ReadString(ref ReadOnlySpan<byte> payload)
    {
        int n = ReadInt(ref payload);
        if (n < 0 || n > payload.Length)
        {
            throw new ProtocolException($"string of {n} bytes in a control message with {payload.Length} left");
        }

        string value = Encoding.UTF8.GetString(payload[..n]);
        payload = payload[n..];
        return value;
    }

    private static IPEndPoint? ReadEndpoint(ref ReadOnlySpan<byte> payload)
    {
        string address = ReadString(ref payload);
        int port = ReadInt(ref payload);
        if (address.Length == 0)
        {
            return null;
        }

        if (!IPAddress.TryParse(address, out IPAddress? ip) || port is <= 0 or > 65535)
        {
            throw new ProtocolException($"bad endpoint '{address}:{port}' in a control message");
        }

        return new IPEndPoint(ip, port);
    }
}
