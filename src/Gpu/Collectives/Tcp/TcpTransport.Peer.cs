using System.Buffers;
using System.Net.Sockets;
using Ray.Protocol;

namespace Ray.Gpu.Collectives.Tcp;

/// <summary>The per-connection state of <see cref="TcpTransport"/>.</summary>
internal sealed partial class TcpTransport
{
    private sealed class Peer(int rank, Socket socket, string endpoint)
    {
        private readonly SemaphoreSlim _sendGate = new(1, 1);
        private int _sendOwner;
        private string _status = "connected";
        private FrameHeader _frame;
        private bool _inFrame;

        public int Rank { get; } = rank;

        public Socket Socket { get; } = socket;

        public string Endpoint { get; } = endpoint;

        /// <summary>Held by whoever pumps this connection's receive side (an operation's thread or the progress thread).</summary>
        public object ReadLock { get; } = new();

        /// <summary>Frame headers and small frames land here; data payloads stream straight into <see cref="Pending"/>.</summary>
        public byte[] Staging { get; set; } = new byte[64 * 1024];

        public int Start { get; set; }

        public int End { get; set; }

        /// <summary>Bytes of the current data frame's payload still to stream into <see cref="Pending"/>.</summary>
        public long FrameRemaining { get; set; }

        /// <summary>The connection ended (EOF, error or protocol error): nothing more is read from it.</summary>
        public volatile bool Ended;

        public volatile bool SaidBye;

        public PendingMessage? Pending { get; set; }

        /// <summary>A coalesced small frame is built here (under the send gate): no allocation per message.</summary>
        public byte[] SendStaging { get; } = new byte[CoalesceBytes];

        /// <summary>What the receive side was doing last (put into error messages).</summary>
        public string Status
        {
            get => _inFrame ? $"handling frame 0x{_frame.Kind:x4} ({_frame.PayloadLength} bytes)" : _status;
            set
            {
                _status = value;
                _inFrame = false;
            }
        }

        /// <summary>Notes the frame being handled (per frame: no allocation).</summary>
        public void Handling(FrameHeader frame)
        {
            _frame = frame;
            _inFrame = true;
        }

        public void EnterSend()
        {
            _sendGate.Wait();
            _sendOwner = Environment.CurrentManagedThreadId;
        }

        /// <summary>Takes the send gate unless this thread already holds it (mid-frame) or it stays busy past the wait.</summary>
        public bool TryEnterSend(int milliseconds)
        {
            if (Volatile.Read(ref _sendOwner) == Environment.CurrentManagedThreadId || !_sendGate.Wait(milliseconds))
            {
                return false;
            }

            _sendOwner = Environment.CurrentManagedThreadId;
            return true;
        }

        public void ExitSend()
        {
            _sendOwner = 0;
            _sendGate.Release();
        }
    }

    /// <summary>A message being assembled from its frames into a pooled array.</summary>
    private sealed class PendingMessage(long sequence, int operationCode, int typeCode, int elementSize, bool pointToPoint, long total)
    {
        public long Sequence { get; } = sequence;

        public int OperationCode { get; } = operationCode;

        public int TypeCode { get; } = typeCode;

        public int ElementSize { get; } = elementSize;

        public bool PointToPoint { get; } = pointToPoint;

        public long Total { get; } = total;

        public long Received { get; set; }

        public byte[]? Buffer { get; private set; } = total == 0 ? null : ArrayPool<byte>.Shared.Rent((int)total);

        public bool Complete => Received == Total;

        /// <summary>Where the next payload bytes go.</summary>
        public Span<byte> Free(long max) => Buffer.AsSpan((int)Received, (int)Math.Min(max, Total - Received));

        public void Return()
        {
            if (Buffer is { } buffer)
            {
                Buffer = null;
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
