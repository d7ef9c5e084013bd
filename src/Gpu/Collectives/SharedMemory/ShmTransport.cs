using System.Numerics;
using System.Runtime.InteropServices;
using Ray.Gpu.Kernels;

namespace Ray.Gpu.Collectives.SharedMemory;

/// <summary>
/// The local rank's side of a shared-memory group: sends copy once into the ring to the peer;
/// receives copy or reduce straight out of the ring from the peer. A send and a receive can run
/// interleaved (a ring step), one segment at a time each, so two ranks sending each other more
/// than a ring holds both make progress instead of deadlocking, and the receiver reduces segment
/// k while the sender writes segment k+1. Waits spin, then park (see <see cref="ShmWaiter"/>).
/// </summary>
internal sealed unsafe class ShmTransport
{
    private readonly long _segmentBytes;

    public ShmTransport(CollectiveGroup group, ShmSegment segment, int rank, long spinTicks, long segmentBytes)
    {
        Group = group;
        Segment = segment;
        Rank = rank;
        SpinTicks = spinTicks;
        _segmentBytes = segmentBytes;
        Oversubscribed = segment.WorldSize > Environment.ProcessorCount;
    }

    public CollectiveGroup Group { get; }

    public ShmSegment Segment { get; }

    public int Rank { get; }

    public long SpinTicks { get; }

    public bool Oversubscribed { get; }

    public void Send<T>(Communicator.OpScope scope, int to, ReadOnlySpan<T> data, bool pointToPoint)
        where T : unmanaged
    {
        var none = default(NoSink);
        Run(scope, to, Header<T>(scope, data.Length, pointToPoint), MemoryMarshal.AsBytes(data), -1, default, ref none, pointToPoint, ShmType<T>.Name);
    }

    public void ReceiveCopy<T>(Communicator.OpScope scope, int from, Span<T> destination, bool pointToPoint)
        where T : unmanaged
    {
        var sink = new CopySink(MemoryMarshal.AsBytes(destination));
        Run(scope, -1, default, default, from, Header<T>(scope, destination.Length, pointToPoint), ref sink, pointToPoint, ShmType<T>.Name);
    }

    public void ReceiveCombine<T>(Communicator.OpScope scope, int from, ReduceOp op, ReadOnlySpan<T> x, Span<T> destination)
        where T : unmanaged, INumber<T>
    {
        var sink = new CombineSink<T>(op, x, destination);
        Run(scope, -1, default, default, from, Header<T>(scope, destination.Length, false), ref sink, false, ShmType<T>.Name);
    }

    public void SendReceiveCopy<T>(Communicator.OpScope scope, int to, ReadOnlySpan<T> data, int from, Span<T> destination)
        where T : unmanaged
    {
        var sink = new CopySink(MemoryMarshal.AsBytes(destination));
        Run(scope, to, Header<T>(scope, data.Length, false), MemoryMarshal.AsBytes(data), from, Header<T>(scope, destination.Length, false), ref sink, false, ShmType<T>.Name);
    }

    public void SendReceiveCombine<T>(Communicator.OpScope scope, int to, ReadOnlySpan<T> data, int from, ReduceOp op, ReadOnlySpan<T> x, Span<T> destination)
        where T : unmanaged, INumber<T>
    {
        var sink = new CombineSink<T>(op, x, destination);
        Run(scope, to, Header<T>(scope, data.Length, false), MemoryMarshal.AsBytes(data), from, Header<T>(scope, destination.Length, false), ref sink, false, ShmType<T>.Name);
    }

    private static ShmMessageHeader Header<T>(Communicator.OpScope scope, int length, bool pointToPoint)
        where T : unmanaged => new()
        {
            Sequence = pointToPoint ? 0 : scope.Sequence,
            OperationCode = pointToPoint ? 0 : ShmMessageHeader.Code(scope.Operation),
            TypeCode = ShmType<T>.Code,
            ElementSize = sizeof(T),
            Length = length,
        };

    /// <summary>Sends to <paramref name="to"/> and/or receives from <paramref name="from"/> (-1: none) until both are done.</summary>
    private void Run<TSink>(
        Communicator.OpScope scope, int to, in ShmMessageHeader sendHeader, ReadOnlySpan<byte> sendData,
        int from, in ShmMessageHeader expected, ref TSink sink, bool pointToPoint, string typeName)
        where TSink : IShmSink, allows ref struct
    {
        bool sending = to >= 0, receiving = from >= 0;
        bool sentHeader = false, gotHeader = false;
        long sent = 0, received = 0;
        long receiveBytes = expected.PayloadBytes;
        ShmRing output = sending ? Segment.Ring(Rank, to, pointToPoint) : default;
        ShmRing input = receiving ? Segment.Ring(from, Rank, pointToPoint) : default;
        var waiter = new ShmWaiter(this, scope, sending ? to : -1, receiving ? from : -1);
        try
        {
            while (sending || receiving)
            {
                waiter.BeforeCheck();
                bool progressed = false;
                if (sending)
                {
                    progressed |= TrySend(output, to, sendHeader, sendData, ref sentHeader, ref sent);
                    sending = !sentHeader || sent < sendData.Length;
                }

                if (receiving)
                {
                    progressed |= TryReceive(input, from, scope, expected, pointToPoint, typeName, ref sink, ref gotHeader, ref received);
                    receiving = !gotHeader || received < receiveBytes;
                }

                if (progressed)
                {
                    waiter.Progressed();
                }
                else if (sending || receiving)
                {
                    waiter.Idle();
                }
            }
        }
        finally
        {
            waiter.Disarm();
        }
    }

    private bool TrySend(ShmRing ring, int to, in ShmMessageHeader header, ReadOnlySpan<byte> data, ref bool sentHeader, ref long sent)
    {
        long head = ring.Head;
        long start = head;
        long tail = Volatile.Read(ref ring.Tail);
        if (!sentHeader)
        {
            long position = (head + 63) & ~63L;
            if (position + 64 - tail > ring.Capacity)
            {
                return false;
            }

            *(ShmMessageHeader*)ring.At(position) = header;
            head = position + 64;
            sentHeader = true;
        }

        long remaining = data.Length - sent;
        if (remaining > 0)
        {
            long n = Math.Min(Math.Min(ring.Capacity - (head - tail), ring.Contiguous(head)), Math.Min(remaining, _segmentBytes));
            if (n > 0)
            {
                data.Slice((int)sent, (int)n).CopyTo(new Span<byte>(ring.At(head), (int)n));
                head += n;
                sent += n;
            }
        }

        if (head == start)
        {
            return false;
        }

        Volatile.Write(ref ring.Head, head);
        Segment.Wake(to);
        return true;
    }

    private bool TryReceive<TSink>(
        ShmRing ring, int from, Communicator.OpScope scope, in ShmMessageHeader expected, bool pointToPoint, string typeName,
        ref TSink sink, ref bool gotHeader, ref long received)
        where TSink : IShmSink, allows ref struct
    {
        long tail = ring.Tail;
        long start = tail;
        long head = Volatile.Read(ref ring.Head);
        if (!gotHeader)
        {
            long position = (tail + 63) & ~63L;
            if (head - position < 64)
            {
                return false;
            }

            Validate(from, scope, expected, *(ShmMessageHeader*)ring.At(position), pointToPoint, typeName);
            tail = position + 64;
            gotHeader = true;
        }

        long remaining = expected.PayloadBytes - received;
        if (remaining > 0)
        {
            long n = Math.Min(Math.Min(head - tail, ring.Contiguous(tail)), Math.Min(remaining, _segmentBytes));
            n -= n % sink.Granularity;
            if (n > 0)
            {
                sink.Consume(ring.At(tail), received, (int)n);
                tail += n;
                received += n;
            }
        }

        if (tail == start)
        {
            return false;
        }

        Volatile.Write(ref ring.Tail, tail);
        Segment.Wake(from);
        return true;
    }

    private void Validate(int from, Communicator.OpScope scope, in ShmMessageHeader expected, in ShmMessageHeader actual, bool pointToPoint, string typeName)
    {
        bool sameOperation = pointToPoint || (actual.Sequence == expected.Sequence && actual.OperationCode == expected.OperationCode);
        if (sameOperation && actual.TypeCode == expected.TypeCode && actual.Length == expected.Length && actual.ElementSize == expected.ElementSize)
        {
            return;
        }

        string what = sameOperation
            ? $"expected {expected.Length} x {typeName} from rank {from}, got {actual.Length} x {(actual.TypeCode == expected.TypeCode ? typeName : $"another type ({actual.ElementSize}-byte elements)")}"
            : $"is in {scope.Operation} #{expected.Sequence} but rank {from} sent {ShmOperationNames.Name(actual.OperationCode)} #{actual.Sequence}";
        Group.Fail(CollectiveErrorKind.Mismatch, from, $"rank {Rank} {what}");
        throw Group.CreateException(Rank);
    }
}
