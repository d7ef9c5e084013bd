using Ray.Objects;

namespace Ray.Cluster.Driver;

/// <summary>
/// The driver's end of a streaming call pushed to a worker: tells the worker how far the
/// consumer got (StreamAck), so a generator paused by back-pressure resumes, and tells it to stop.
/// Acknowledgements are batched: one per quarter of the bound taken, or at once when the
/// producer may be paused on the last one (everything it may produce has arrived).
/// </summary>
internal sealed class StreamLink(WorkerChannel channel, ulong requestId, int bound, long consumedAtPush) : IStreamProducerLink
{
    private readonly long _step = Math.Max(1, bound / 4);
    private long _lastSent = consumedAtPush;
    private int _stopped;

    public void Consumed(long consumed, long received)
    {
        if (bound <= 0) return; // no bound: the worker never waits for us
        var last = Interlocked.Read(ref _lastSent);
        if (consumed <= last || (consumed - last < _step && received < last + bound)) return;
        if (Interlocked.CompareExchange(ref _lastSent, consumed, last) != last) return; // another consumer sends a later count
        channel.SendStreamAck(requestId, consumed);
    }

    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0) channel.SendStreamAck(requestId, Wire.StreamWire.Stop);
    }
}
