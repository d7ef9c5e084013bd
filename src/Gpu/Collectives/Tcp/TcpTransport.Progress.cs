using System.Diagnostics;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Ray.Gpu.Collectives.Tcp;

/// <summary>
/// Who pumps the sockets: the waiting operation's thread first (it spins on non-blocking reads for
/// up to <see cref="CollectiveGroupOptions.TcpSpin"/>, so a message that arrives within the spin is
/// taken without any thread hop or wake-up), and a progress thread whenever no operation has been
/// active for <see cref="QuietMilliseconds"/> or a waiting operation gave up spinning (it then awaits
/// the channel as before). Keeping the progress thread out of the way while operations run matters on
/// small VMs: a woken thread costs tens of microseconds and steals the core the peer needs.
/// </summary>
internal sealed partial class TcpTransport
{
    /// <summary>After this long without an operation pumping, the progress thread watches the sockets.</summary>
    private const int QuietMilliseconds = 2;

    private readonly long _spinTicks;
    private readonly ManualResetEventSlim _wake = new(false);
    private Thread? _progress;
    private int _spinners;
    private long _lastActive;
    private volatile bool _stopProgress;
    private volatile bool _closing;

    /// <summary>Starts the progress thread.</summary>
    public void Start()
    {
        if (_peers.All(p => p is null))
        {
            return;
        }

        _progress = new Thread(ProgressLoop) { IsBackground = true, Name = $"ray-collective-tcp-{Rank}" };
        _progress.Start();
    }

    /// <summary>
    /// Pumps <paramref name="from"/>'s connection on this thread until <paramref name="reader"/> has a
    /// message, the spin budget is spent, the group failed or the caller cancelled. False: wait
    /// asynchronously on the channel (the progress thread takes over the reading).
    /// </summary>
    public bool TrySpinReceive(int from, ChannelReader<CollectiveMessage> reader, CancellationToken caller, out CollectiveMessage message)
    {
        Peer peer = _peers[from]!;
        if (_spinTicks <= 0)
        {
            // TcpSpin zero: every wait is asynchronous, the progress thread reads.
            Volatile.Write(ref _lastActive, 0);
            _wake.Set();
            message = default;
            return false;
        }

        Interlocked.Increment(ref _spinners);
        try
        {
            long limit = Stopwatch.GetTimestamp() + _spinTicks;
            for (int i = 1; ; i++)
            {
                if (Monitor.TryEnter(peer.ReadLock))
                {
                    try
                    {
                        Pump(peer);
                    }
                    finally
                    {
                        Monitor.Exit(peer.ReadLock);
                    }
                }

                if (reader.TryRead(out message))
                {
                    MarkActive();
                    return true;
                }

                if (peer.Ended || _group.IsFailed || caller.IsCancellationRequested)
                {
                    break;
                }

                if ((i & 15) == 0)
                {
                    PumpAll(); // a failure or a goodbye on another connection ends the wait too
                    if (Stopwatch.GetTimestamp() > limit)
                    {
                        break;
                    }

                    if (i >= 64)
                    {
                        Thread.Yield(); // let a co-located peer (or this process's progress thread) run
                    }
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _spinners);
        }

        // Hand the reading to the progress thread at once.
        Volatile.Write(ref _lastActive, 0);
        _wake.Set();
        message = default;
        return false;
    }

    private void MarkActive() => Volatile.Write(ref _lastActive, Stopwatch.GetTimestamp());

    private void ProgressLoop()
    {
        var readable = new List<Socket>();
        long quiet = Stopwatch.Frequency * QuietMilliseconds / 1000;
        while (!_stopProgress)
        {
            if (!_closing && (Volatile.Read(ref _spinners) > 0 || Stopwatch.GetTimestamp() - Volatile.Read(ref _lastActive) < quiet))
            {
                _wake.Wait(QuietMilliseconds);
                _wake.Reset();
                continue;
            }

            readable.Clear();
            foreach (Peer? peer in _peers)
            {
                if (peer is not null && !peer.Ended)
                {
                    readable.Add(peer.Socket);
                }
            }

            if (readable.Count == 0)
            {
                if (_closing)
                {
                    return;
                }

                _wake.Wait(20);
                _wake.Reset();
                continue;
            }

            try
            {
                Socket.Select(readable, null, null, 20_000);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (_stopProgress)
                {
                    return;
                }

                Thread.Sleep(1); // a socket closed under us: the next pump reports it
            }

            foreach (Peer? peer in _peers)
            {
                if (peer is not null && !peer.Ended && readable.Contains(peer.Socket))
                {
                    lock (peer.ReadLock)
                    {
                        while (Pump(peer) > 0)
                        {
                        }
                    }
                }
            }
        }
    }

    /// <summary>Waits (briefly) until <paramref name="peer"/>'s socket can take more bytes or any connection has bytes to read.</summary>
    private void WaitWritableOrReadable(Peer peer, bool alsoReadable)
    {
        var write = new List<Socket> { peer.Socket };
        List<Socket>? read = null;
        if (alsoReadable)
        {
            read = [];
            foreach (Peer? p in _peers)
            {
                if (p is not null && !p.Ended)
                {
                    read.Add(p.Socket);
                }
            }
        }

        Socket.Select(read is { Count: > 0 } ? read : null, write, null, 1000);
    }

    /// <summary>Pumps every connection until each peer has closed its end, or <paramref name="limit"/> passed.</summary>
    private void DrainUntilClosed(TimeSpan limit)
    {
        _closing = true;
        _wake.Set();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit && _peers.Any(p => p is { Ended: false }))
        {
            if (PumpAll() == 0)
            {
                Thread.Sleep(1);
            }
        }
    }

    private void StopProgress()
    {
        _stopProgress = true;
        _wake.Set();
        if (_progress is { } thread && thread != Thread.CurrentThread)
        {
            thread.Join(TimeSpan.FromSeconds(2));
        }
    }
}
