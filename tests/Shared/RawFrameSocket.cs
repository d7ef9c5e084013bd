using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using Ray.Protocol;

namespace Ray.Tests.Shared;

/// <summary>
/// Frames over a raw socket, for tests that speak a protocol by hand (or badly). Compiled into
/// each test project that needs it (linked source), with a thin protocol-specific subclass.
/// </summary>
internal abstract class RawFrameSocket : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly FrameParser _parser;
    private byte[] _pending = [];

    protected RawFrameSocket(Socket socket, int maxPayload)
    {
        _socket = socket;
        _parser = new FrameParser(maxPayload);
    }

    /// <summary>One frame's bytes.</summary>
    public static byte[] Frame(ushort kind, FrameFlags flags, ulong requestId, ReadOnlySpan<byte> payload)
    {
        var w = new ArrayBufferWriter<byte>();
        FrameWriter.Write(w, kind, flags, requestId, payload);
        return w.WrittenSpan.ToArray();
    }

    public async Task SendAsync(byte[] bytes) => await _socket.SendAsync(bytes, SocketFlags.None);

    /// <summary>The next frame, or null when the peer closed the connection.</summary>
    public async Task<(FrameHeader Header, byte[] Payload)?> ReadFrameAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var chunk = new byte[4096];
        while (true)
        {
            var seq = new ReadOnlySequence<byte>(_pending);
            if (_parser.TryParseFrame(ref seq, out var frame))
            {
                var result = (frame.Header, frame.Payload.ToArray());
                _pending = seq.ToArray();
                return result;
            }
            int n;
            try { n = await _socket.ReceiveAsync(chunk, SocketFlags.None, cts.Token); }
            catch (OperationCanceledException) { throw new TimeoutException($"no frame and no close within {timeout.TotalSeconds:0.#} s"); }
            catch (SocketException) { return null; } // reset by the peer: closed too
            if (n == 0) return null;
            _pending = [.. _pending, .. chunk.AsSpan(0, n)];
        }
    }

    /// <summary>True when the server closes the connection (EOF or reset) within the timeout, ignoring frames.</summary>
    public async Task<bool> ClosedByPeerAsync(TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        try
        {
            while (sw.Elapsed < timeout)
                if (await ReadFrameAsync(timeout - sw.Elapsed) is null) return true;
        }
        catch (TimeoutException) { return false; }
        catch (ProtocolException) { return false; }
        return false;
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
