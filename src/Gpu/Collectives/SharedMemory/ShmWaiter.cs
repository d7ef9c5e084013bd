using System.Diagnostics;

namespace Ray.Gpu.Collectives.SharedMemory;

/// <summary>
/// How a rank waits for a peer: spin (a bounded time; waking a parked vCPU costs ~40 us here),
/// then park on its doorbell (a futex word that peers bump when they publish to or make room for
/// this rank), in slices, checking between slices the group's failure record, the caller's token,
/// the operation's deadline and, every few milliseconds, whether the peers waited on are alive.
/// Protocol (Dekker): the waiter stores Sleeping = 1, fences, reads the doorbell, then checks its
/// ring once more before sleeping on that doorbell value; a publisher stores head/tail, fences and
/// bumps the doorbell only if it reads Sleeping = 1. Either the waiter sees the data or the
/// publisher sees the flag, so no wake-up is lost.
/// </summary>
internal unsafe struct ShmWaiter
{
    private const long SliceNanoseconds = 2_000_000;
    private static readonly long LivenessTicks = Stopwatch.Frequency / 100; // 10 ms

    private readonly ShmTransport _transport;
    private readonly Communicator.OpScope _scope;
    private readonly int _sendTo;
    private readonly int _recvFrom;
    private long _idleSince;
    private long _nextLiveness;
    private bool _armed;
    private int _doorbell;
    private (CollectiveErrorKind Kind, int Rank, string Detail)? _suspect;

    public ShmWaiter(ShmTransport transport, Communicator.OpScope scope, int sendTo, int recvFrom)
    {
        _transport = transport;
        _scope = scope;
        _sendTo = sendTo;
        _recvFrom = recvFrom;
    }

    private readonly ShmSegment Segment => _transport.Segment;

    private readonly int Rank => _transport.Rank;

    /// <summary>Called before each check of the rings: in the parking phase, arms the doorbell first.</summary>
    public void BeforeCheck()
    {
        if (_idleSince != 0 && !_armed && Stopwatch.GetTimestamp() - _idleSince >= _transport.SpinTicks)
        {
            Interlocked.Exchange(ref Segment.Sleeping(Rank), 1);
            _doorbell = Volatile.Read(ref *Segment.Doorbell(Rank));
            _armed = true;
        }
    }

    /// <summary>Something moved: back to the spinning phase.</summary>
    public void Progressed()
    {
        _idleSince = 0;
        _suspect = null;
        Disarm();
    }

    /// <summary>Nothing moved: spin, yield or park; throws when the group failed or must fail.</summary>
    public void Idle()
    {
        long now = Stopwatch.GetTimestamp();
        if (_idleSince == 0)
        {
            _idleSince = now;
            _nextLiveness = now + LivenessTicks;
        }

        CheckFailed(now);
        if (!_armed)
        {
            if (_transport.Oversubscribed)
            {
                Thread.Yield(); // more ranks than cores: let the peer we wait for run
            }
            else
            {
                Thread.SpinWait(20);
            }

            return;
        }

        if (_suspect is { } suspect)
        {
            // The peer was gone and one more look at the ring found nothing it left behind.
            Disarm();
            _transport.Group.Fail(suspect.Kind, suspect.Rank, suspect.Detail);
            throw _transport.Group.CreateException(Rank);
        }

        if (now >= _nextLiveness)
        {
            _nextLiveness = now + LivenessTicks;
            _suspect = CheckPeer(_recvFrom) ?? CheckPeer(_sendTo);
            if (_suspect is not null)
            {
                return; // one more check of the ring before failing
            }
        }

        ShmNative.FutexWaitWord(Segment.Doorbell(Rank), _doorbell, SliceNanoseconds);
        Disarm(); // re-armed (and the doorbell re-read) before the next check
    }

    /// <summary>Leaves the wait (normally or by exception): peers need not ring any more.</summary>
    public void Disarm()
    {
        if (_armed)
        {
            Volatile.Write(ref Segment.Sleeping(Rank), 0);
            _armed = false;
        }
    }

    private void CheckFailed(long now)
    {
        CollectiveGroup group = _transport.Group;
        if (group.IsFailed)
        {
            Disarm();
            throw group.CreateException(Rank);
        }

        if (_scope.CallerToken.IsCancellationRequested)
        {
            // The rings are now mid-message: the group cannot go on, so fail it for every rank.
            Disarm();
            group.Fail(CollectiveErrorKind.RankAborted, Rank, $"rank {Rank} cancelled {_scope.Operation} #{_scope.Sequence}");
            _scope.CallerToken.ThrowIfCancellationRequested();
        }

        if (now > _scope.DeadlineTimestamp)
        {
            Disarm();
            int waited = _recvFrom >= 0 ? _recvFrom : _sendTo;
            int suspect = _scope.Sequence > 0 ? group.FirstRankBehind(_scope.Sequence) ?? waited : waited;
            group.Fail(
                CollectiveErrorKind.Timeout,
                suspect,
                $"rank {Rank} waited {group.Options.Timeout.TotalSeconds:0.###} s for rank {waited} in {_scope.Operation} #{_scope.Sequence}; rank {suspect} did not arrive");
            throw group.CreateException(Rank);
        }
    }

    private readonly (CollectiveErrorKind, int, string)? CheckPeer(int peer)
    {
        if (peer < 0)
        {
            return null;
        }

        int state = Volatile.Read(ref Segment.SlotState(peer));
        int pid = Volatile.Read(ref Segment.SlotPid(peer));
        if (state == ShmSegment.SlotLeft)
        {
            return (CollectiveErrorKind.GroupClosed, peer, $"rank {peer} left the group while rank {Rank} waited for it in {_scope.Operation} #{_scope.Sequence}");
        }

        if (!ProcessLiveness.IsAlive(pid, Volatile.Read(ref Segment.SlotStartTime(peer))))
        {
            return (CollectiveErrorKind.RankDied, peer, $"rank {peer} (process {pid}) died while rank {Rank} waited for it in {_scope.Operation} #{_scope.Sequence}");
        }

        return null;
    }
}
