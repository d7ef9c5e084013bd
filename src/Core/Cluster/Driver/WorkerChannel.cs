using System.Diagnostics;
using System.Net.Sockets;
using Ray.Cluster.Transport;
using Ray.Cluster.Wire;
using Ray.Protocol;
using Ray.Tasks;

namespace Ray.Cluster.Driver;

/// <summary>
/// The driver's direct connection to one leased worker process (Unix socket): tasks are pushed
/// straight to it, the raylet is not on the path.
///
/// Sending is self-clocked: a task is written at once when nothing is in flight on the
/// connection (lowest latency); while replies are outstanding, new tasks collect in the send
/// buffer and the receive thread flushes them as a batch when the next replies arrive (highest
/// throughput, one syscall per batch). Whenever the buffer holds frames, some flushed task is
/// still in flight, so a reply always comes to flush them.
///
/// If the worker dies (the connection drops), every task in flight is retried or failed
/// (<see cref="SubmittedTask.OnWorkerDied"/>).
/// </summary>
internal sealed class WorkerChannel : FramedConnection, IExecutionSite
{
    private readonly Dictionary<ulong, Pushed> _inflight = new();
    private readonly HashSet<int> _defined = new();
    private readonly HashSet<uint> _definedEnvs = new(); // runtime environments sent on this connection
    private readonly TaskCompletionSource _hello = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Action<WorkerChannel, string, SubmittedTask[]> _onClosed;
    private TaskCompletionSource<string?>? _actorCreated;
    private byte[]? _scratch;
    private ulong _nextId;
    private int _flushedInFlight;   // sent to the socket, reply not yet counted
    private int _flushScheduled;    // a flush is queued on the thread pool
    private bool _retired;          // under the send lock
    private bool _dead;             // under lock(_inflight): closed, nothing may be added
    private int _unflushed;         // appended, not yet sent (changed under the send lock; read outside)
    private int _repliesInBatch;    // receive thread only
    private int _count;             // tasks in flight, for picking the least loaded channel
    // A moving average of one task's share of its round trip. It starts "long": a new lease
    // takes one task at a time until tasks prove short, so tasks that each need a whole
    // resource (a GPU, a long CPU job) spread over leases instead of queueing behind each other.
    private double _serviceTicks = ShortTaskTicks * 4;

    private WorkerChannel(Socket socket, LeaseGrant lease, TimeSpan spin, Action<WorkerChannel, string, SubmittedTask[]> onClosed)
        : base(socket, WorkerSessionLimits.MaxPayload, ReceiveDriver.Thread(spin, $"ray-driver-w{lease.WorkerId}"))
    {
        Lease = lease;
        _onClosed = onClosed;
        AllowHelpers = true;
        StartReceiving();
    }

    internal LeaseGrant Lease { get; }

    /// <summary>The driver's raylet session: a cancel for a task running here goes through the raylet (this worker's thread is busy running it).</summary>
    internal ClusterSession? Session { get; set; }

    /// <inheritdoc />
    public void RequestCancel(SubmittedTask task)
    {
        if (Session is { Link.IsClosed: false } session)
            session.Link.Send((ushort)ClusterMessageKind.CancelTask, ClusterCodec.EncodeCancelTask(Lease.WorkerId, task.Result.Id.Owner, task.Result.Id.Sequence));
    }

    /// <summary>Tasks pushed and not answered.</summary>
    internal int InFlight => Volatile.Read(ref _count);

    /// <summary>When the last task finished (Stopwatch ticks), for returning idle leases.</summary>
    internal long LastActive { get; private set; } = Stopwatch.GetTimestamp();

    /// <summary>How many tasks may be in flight: deep pipelines for short tasks, one at a time for long ones (so others run elsewhere).</summary>
    internal int Capacity => Volatile.Read(ref _streams) > 0 ? 0 : _serviceTicks < ShortTaskTicks ? 256 : 1;

    // Streaming calls in flight: the worker runs one off its receive thread and holds later
    // calls behind it, so a channel with a stream takes no other task (Capacity 0).
    private int _streams;

    private static readonly double ShortTaskTicks = Stopwatch.Frequency * 300e-6;

    /// <summary>Connects to a leased worker and says WorkerHello.</summary>
    internal static async Task<WorkerChannel> ConnectAsync(LeaseGrant lease, string token, uint jobId, TimeSpan spin, Action<WorkerChannel, string, SubmittedTask[]> onClosed, LeaseContext? context = null)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try { await socket.ConnectAsync(new UnixDomainSocketEndPoint(lease.WorkerSocket)).ConfigureAwait(false); }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new RayClusterException($"cannot reach worker {lease.WorkerId} (pid {lease.Pid}) at {lease.WorkerSocket}: {e.Message}", e);
        }
        var channel = new WorkerChannel(socket, lease, spin, onClosed);
        channel.Append((ushort)ClusterMessageKind.WorkerHello, FrameFlags.None, 0, (token, jobId, lease.GpuIds, context),
            static (w, s) => ClusterCodec.WriteWorkerHello(w, s.token, s.jobId, s.GpuIds, s.context));
        channel.Flush();
        try { await channel._hello.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false); }
        catch
        {
            channel.Dispose();
            throw;
        }
        return channel;
    }

    /// <summary>Pushes a task that was marked running. False when the channel is closed or retiring (the caller requeues).</summary>
    internal bool Push(SubmittedTask task, ushort kind = (ushort)ClusterMessageKind.PushTask)
    {
        var fn = task.Function!;
        if (fn.AssemblyPath.Length == 0)
        {
            task.FailRemote("System.NotSupportedException", $"{fn.Name}: its assembly has no file (NativeAOT or single-file), so worker processes cannot load it", null, userError: false);
            return true;
        }
        Monitor.Enter(SendLock);
        try
        {
            if (IsClosed || _retired) return false;
            if (_defined.Add(fn.WireIndex))
                AppendLocked((ushort)ClusterMessageKind.DefineFunction, FrameFlags.NoReply, 0, fn, static (w, f) =>
                    ClusterCodec.WriteDefineFunction(w, new FunctionDefinition((uint)f.WireIndex, f.AssemblyPath, f.TypeName, f.Method.MetadataToken, f.Method.Name)));
            var env = task.Env;
            if (env is not null) DefineEnvLocked(env);
            var id = ++_nextId;
            task.Site = this;
            try
            {
                AppendLocked(kind, FrameFlags.None, id, task, static (w, t) =>
                {
                    if (t.Env is { } e)
                    {
                        w.U32((uint)t.Function!.WireIndex | WorkerSide.WorkerSession.WithRuntimeEnv);
                        w.U32(e.WireIndex);
                    }
                    else w.U32((uint)t.Function!.WireIndex);
                    w.U64(t.Result.Id.Owner);
                    w.U64(t.Result.Id.Sequence);
                    w.U16((ushort)t.ArgumentCount);
                    ArgumentWriter.Write(w, t);
                    if (t.Stream is { } stream) StreamWire.WriteSpec(w, stream);
                });
            }
            catch (Exception e)
            {
                task.FailRemote(e.GetType().FullName ?? e.GetType().Name, e.Message, e.StackTrace, userError: false);
                return true;
            }
            lock (_inflight)
            {
                if (_dead) return false; // closed meanwhile: OnClosed already took the list (the caller requeues)
                _inflight[id] = new Pushed(task, Stopwatch.GetTimestamp(), _count + 1);
            }
            if (task.Stream is { } s)
            {
                Interlocked.Increment(ref _streams);
                s.Link = new StreamLink(this, id, s.Bound, s.Consumed); // acknowledgements and stop go to this attempt's worker
            }
            Interlocked.Increment(ref _count);
            // Full fences on both sides (Dekker): either we see nothing in flight and send, or the
            // receive thread, which counts replies down before it looks, sees our frame waiting.
            Interlocked.Increment(ref _unflushed);
            if (SendEachAtOnce || Interlocked.CompareExchange(ref _flushedInFlight, 0, 0) == 0 || PendingBytes > 256 * 1024)
            {
                if (InReceiveContext) ScheduleFlush(); // never block on the socket while receiving
                else SendPendingLocked();
            }
        }
        finally { Monitor.Exit(SendLock); }
        return true;
    }

    /// <summary>
    /// Sends every pushed frame at once instead of holding it while an earlier one is unanswered
    /// (the batching that suits a worker running its tasks one by one). For an actor running
    /// several calls at once, whose calls may wait for each other.
    /// </summary>
    internal bool SendEachAtOnce { get; set; }

    /// <summary>
    /// Takes the channel out of use if it is idle: no task will be pushed to it again. False
    /// when a task is in flight (it stays in use).
    /// </summary>
    internal bool TryRetire()
    {
        lock (SendLock)
        {
            if (Volatile.Read(ref _count) != 0 || Volatile.Read(ref _unflushed) != 0) return false;
            _retired = true;
            return true;
        }
    }

    /// <summary>True once <see cref="TryRetire"/> took it out of use (its close is not a worker death).</summary>
    internal bool IsRetired => _retired;

    private void SendPendingLocked()
    {
        var n = Interlocked.Exchange(ref _unflushed, 0);
        if (n == 0 && PendingBytes == 0) return;
        Interlocked.Add(ref _flushedInFlight, n);
        FlushLocked();
    }

    // A flush on a thread-pool thread, where blocking on the socket or the send lock is harmless
    // (the receive thread keeps reading the worker's replies meanwhile).
    private void ScheduleFlush()
    {
        if (Interlocked.Exchange(ref _flushScheduled, 1) != 0) return;
        ThreadPool.UnsafeQueueUserWorkItem(static c =>
        {
            Volatile.Write(ref c._flushScheduled, 0);
            lock (c.SendLock) { if (!c.IsClosed) c.SendPendingLocked(); }
        }, this, preferLocal: false);
    }

    protected override void OnFrame(in Frame frame)
    {
        var h = frame.Header;
        if (h.Kind == (ushort)ClusterMessageKind.StreamItem)
        {
            OnStreamItem(h.RequestId, TaskWire.Contiguous(frame, ref _scratch));
            return;
        }
        if ((h.Flags & FrameFlags.Reply) == 0) throw new ProtocolException($"worker {Lease.WorkerId} sent a request (kind {h.Kind})");
        if (h.Kind == (ushort)ClusterMessageKind.WorkerHello)
        {
            if ((h.Flags & FrameFlags.Error) != 0)
            {
                var (_, message) = ClusterCodec.DecodeError(frame.Payload, h.Kind);
                _hello.TrySetException(new RayClusterException($"worker {Lease.WorkerId} refused the driver: {message}"));
            }
            else _hello.TrySetResult();
            return;
        }
        if (h.Kind == (ushort)ClusterMessageKind.CreateActor)
        {
            var cp = TaskWire.Contiguous(frame, ref _scratch);
            var o = 0;
            var st = ValueWire.ReadU8(cp, ref o);
            if (st == TaskWire.Ok) _actorCreated?.TrySetResult(null);
            else
            {
                var (type, message, _) = TaskWire.ReadError(cp, ref o);
                _actorCreated?.TrySetResult($"{type}: {message}");
            }
            return;
        }
        Pushed entry;
        lock (_inflight)
        {
            if (!_inflight.Remove(h.RequestId, out entry)) throw new ProtocolException($"worker {Lease.WorkerId} answered unknown request {h.RequestId}");
        }
        Interlocked.Decrement(ref _count);
        if (entry.Task.Stream is not null) Interlocked.Decrement(ref _streams);
        // Counted before the task completes: a caller woken by this result that submits its next
        // task at once sees nothing in flight and sends it itself, without waiting for a flush.
        Interlocked.Decrement(ref _flushedInFlight);
        _repliesInBatch++;
        var now = Stopwatch.GetTimestamp();
        LastActive = now;
        _serviceTicks = 0.8 * _serviceTicks + 0.2 * ((now - entry.SentAt) / (double)entry.Depth);
        var p = TaskWire.Contiguous(frame, ref _scratch);
        var off = 0;
        var status = ValueWire.ReadU8(p, ref off);
        if (status == TaskWire.Ok)
        {
            var value = ValueWire.Read(p, ref off);
            EntryWire.CompleteResult(entry.Task, value);
        }
        else
        {
            var (type, message, stack) = TaskWire.ReadError(p, ref off);
            if (status == TaskWire.StoreError) entry.Task.FailStore(TaskWire.ReadErrorObject(p, ref off), type, message, stack);
            else entry.Task.FailRemote(type, message, stack, userError: status == TaskWire.UserError);
        }
    }

    // An item of a streaming call in flight (always before the call's reply, so it is still in flight).
    private void OnStreamItem(ulong requestId, ReadOnlySpan<byte> p)
    {
        Pushed entry;
        lock (_inflight)
        {
            if (!_inflight.TryGetValue(requestId, out entry) || entry.Task.Stream is null)
                throw new ProtocolException($"worker {Lease.WorkerId} sent a stream item for request {requestId}, which is not a streaming call in flight");
        }
        var off = 0;
        var index = (long)ValueWire.ReadU64(p, ref off);
        var value = ValueWire.Read(p, ref off);
        if (off != p.Length) throw new ProtocolException("a stream item has trailing bytes");
        StreamWire.Accept(entry.Task.Stream, index, value);
        LastActive = Stopwatch.GetTimestamp();
    }

    /// <summary>Sends a StreamAck (<paramref name="value"/>: items consumed, or -1 to stop); never from the receive thread, never blocking it.</summary>
    internal void SendStreamAck(ulong requestId, long value)
    {
        if (IsClosed) return;
        if (InReceiveContext)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.c.SendStreamAck(s.requestId, s.value), (c: this, requestId, value), preferLocal: false);
            return;
        }
        lock (SendLock)
        {
            if (IsClosed) return;
            AppendLocked((ushort)ClusterMessageKind.StreamAck, FrameFlags.NoReply, requestId, value, static (w, v) => w.I64(v));
            SendPendingLocked();
        }
    }

    /// <summary>Called on the receive thread after replies freed room: the pool sends queued tasks.</summary>
    internal Action<WorkerChannel>? RoomFreed { get; set; }

    protected override void OnBatchEnd()
    {
        if (_repliesInBatch == 0) return;
        _repliesInBatch = 0;
        // Tasks collected while replies were outstanding go out now, from the thread pool: this
        // thread never writes (the worker may be blocked writing replies only we read).
        if (Volatile.Read(ref _unflushed) > 0) ScheduleFlush();
        RoomFreed?.Invoke(this);
    }

    protected override void OnClosed(string reason)
    {
        _hello.TrySetException(new RayClusterException($"worker {Lease.WorkerId} closed the connection: {reason}"));
        Pushed[] lost;
        lock (_inflight)
        {
            _dead = true;
            lost = _inflight.Values.ToArray();
            _inflight.Clear();
        }
        Interlocked.Exchange(ref _count, 0);
        Interlocked.Exchange(ref _streams, 0);
        _actorCreated?.TrySetException(new RayClusterException($"worker {Lease.WorkerId} (pid {Lease.Pid}) died while creating the actor: {reason}"));
        _onClosed(this, $"worker {Lease.WorkerId}, pid {Lease.Pid}: {reason}", lost.Select(p => p.Task).ToArray());
    }

    // Sends a runtime environment once per connection, before the first frame that names it.
    private void DefineEnvLocked(RuntimeEnvs.PreparedRuntimeEnv env)
    {
        if (_definedEnvs.Add(env.WireIndex))
            AppendLocked((ushort)ClusterMessageKind.DefineRuntimeEnv, FrameFlags.NoReply, 0, env, static (w, e) => e.WriteDefinition(w));
    }

    /// <summary>Makes the worker the actor's (CreateActor); returns null on success, else the constructor's error text.</summary>
    internal async Task<string?> CreateActorAsync(byte[] payload, RuntimeEnvs.PreparedRuntimeEnv? env = null)
    {
        _actorCreated = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (IsClosed) // closed before the completion source existed: OnClosed could not fail it
            _actorCreated.TrySetException(new RayClusterException($"worker {Lease.WorkerId} (pid {Lease.Pid}) closed before the actor was created: {CloseReason}"));
        lock (SendLock)
        {
            if (env is not null) DefineEnvLocked(env);
            AppendLocked((ushort)ClusterMessageKind.CreateActor, FrameFlags.None, 0, payload, static (w, p) => w.Raw(p));
            SendPendingLocked(); // not a task: sent at once, with anything queued before it
        }
        return await _actorCreated.Task.ConfigureAwait(false);
    }

    // ---- IExecutionSite: a thread waiting for a task's result helps read the worker's replies ----

    void IExecutionSite.BeginWait() => EnterHelper();

    void IExecutionSite.Poll() => TryHelpReceive();

    void IExecutionSite.EndWait() => ExitHelper();

    // As Ray's force=True: the worker process is stopped (its lease goes back as broken, so the
    // raylet kills it); the other tasks in flight on it are retried elsewhere.
    void IExecutionSite.Stop(string reason) => Close(reason);

    private readonly record struct Pushed(SubmittedTask Task, long SentAt, int Depth);
}

/// <summary>Limits shared by both ends of a driver-worker connection.</summary>
internal static class WorkerSessionLimits
{
    /// <summary>The largest frame either side accepts (inline values are below the shared-memory threshold; this is a guard).</summary>
    internal const int MaxPayload = 512 << 20;
}
