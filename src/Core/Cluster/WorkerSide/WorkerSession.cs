using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using Ray.Cluster.Transport;
using Ray.Cluster.Wire;
using Ray.Protocol;

namespace Ray.Cluster.WorkerSide;

/// <summary>
/// One driver's connection to this worker: WorkerHello, then function definitions, tasks,
/// actor creation and actor calls. Tasks run on this connection's receive thread, one at a
/// time, in arrival order (a lease is one slot of the node's resources); replies are batched
/// and flushed once per read, or sooner when a task ran long.
/// </summary>
internal sealed partial class WorkerSession : FramedConnection
{
    private static readonly long FlushAfterTicks = Stopwatch.Frequency / 20_000; // 50 us

    private readonly WorkerRuntime _runtime;
    private readonly WorkerHostState _host;
    private readonly Dictionary<uint, FunctionSlot> _functions = new();
    private readonly Dictionary<uint, RuntimeEnvs.WorkerRuntimeEnvs.Defined> _envs = new(); // this connection's numbering
    private byte[]? _scratch;
    private bool _hello;
    private long _lastFlush;

    /// <summary>The largest frame before WorkerHello succeeded: an unauthenticated peer makes us buffer at most this.</summary>
    internal const int HelloPayloadLimit = 4096;

    /// <summary>
    /// A session that accepts frames of at most <see cref="HelloPayloadLimit"/> bytes until its
    /// WorkerHello succeeds (then <see cref="Driver.WorkerSessionLimits.MaxPayload"/>, for the
    /// frames pipelined right behind the Hello too: the parser is read per frame). Call
    /// <see cref="Start"/> once it is admitted to the host's handshake gate.
    /// </summary>
    internal WorkerSession(Socket socket, WorkerRuntime runtime, WorkerHostState host, TimeSpan spin)
        : base(socket, HelloPayloadLimit, ReceiveDriver.Thread(spin, "ray-worker-session"))
    {
        _runtime = runtime;
        _host = host;
    }

    /// <summary>Starts the receive thread.</summary>
    internal void Start()
    {
        s_live.TryAdd(this, 0);
        StartReceiving();
    }

    protected override void OnFrame(in Frame frame)
    {
        var h = frame.Header;
        var kind = (ClusterMessageKind)h.Kind;
        if (!_hello && kind != ClusterMessageKind.WorkerHello)
            throw new ProtocolException($"message kind {h.Kind} before WorkerHello");
        var payload = TaskWire.Contiguous(frame, ref _scratch);
        if (kind == ClusterMessageKind.StreamAck)
        {
            OnStreamAck(h, payload);
            return;
        }
        if (TryQueueBehindStream(h, payload)) return;
        Dispatch(h, payload);
        if (Stopwatch.GetTimestamp() - _lastFlush > FlushAfterTicks) FlushNow();
    }

    // One frame in arrival order (on the receive thread, or on the side thread for frames that
    // came while a streaming call ran there).
    private void Dispatch(in FrameHeader h, ReadOnlySpan<byte> payload)
    {
        var kind = (ClusterMessageKind)h.Kind;
        switch (kind)
        {
            case ClusterMessageKind.WorkerHello: Hello(h, payload); break;
            case ClusterMessageKind.DefineFunction: Define(payload); break;
            case ClusterMessageKind.PushTask: Run(h, payload, actor: null); break;
            case ClusterMessageKind.ActorCall:
                Run(h, payload, _host.Actor ?? throw new ProtocolException("an actor call to a worker that holds no actor"));
                break;
            case ClusterMessageKind.CreateActor: CreateActor(h, payload); break;
            case ClusterMessageKind.DefineRuntimeEnv:
                var (envIndex, env) = _runtime.Envs.Define(payload);
                _envs[envIndex] = env;
                break;
            default: throw new ProtocolException($"unknown message kind {h.Kind}");
        }
    }

    protected override void OnBatchEnd() => FlushNow();

    private void FlushNow()
    {
        Flush();
        _lastFlush = Stopwatch.GetTimestamp();
    }

    protected override void OnClosed(string reason)
    {
        StopAllStreams(); // nobody reads their items any more: paused generators must not wait forever
        s_live.TryRemove(this, out _);
        _host.OnSessionClosed(this, reason);
    }

    private static string? s_jobNamespace;

    /// <summary>The namespace of the driver this worker serves (from its WorkerHello): the nested driver's, as Ray's tasks run in their job's.</summary>
    internal static string? JobNamespace => Volatile.Read(ref s_jobNamespace);

    private void Hello(in FrameHeader h, ReadOnlySpan<byte> p)
    {
        if (_hello) throw new ProtocolException("a second WorkerHello");
        var hello = ClusterCodec.DecodeWorkerHello(new ReadOnlySequence<byte>(p.ToArray()));
        var (version, token, job, gpus) = hello;
        if (hello.Context is { } context)
        {
            _context = context;
            if (context.Namespace.Length > 0) Interlocked.CompareExchange(ref s_jobNamespace, context.Namespace, null); // the first driver's: a worker serves one job
            if (context.Actor is not null)
            {
                Volatile.Write(ref s_actorContext, context); // this worker is that actor's
                if (context.Detached) _host.ActorOutlivesItsOwner = true;
            }
        }
        string? refusal = null;
        if (version != ClusterProtocol.Version) refusal = $"protocol version {version}; this worker speaks {ClusterProtocol.Version}";
        else if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                     System.Text.Encoding.UTF8.GetBytes(token), System.Text.Encoding.UTF8.GetBytes(_runtime.Options.Token)))
            refusal = "wrong cluster token";
        else if (job != _runtime.Options.JobId) refusal = $"this worker serves job {_runtime.Options.JobId}, not {job}";
        if (refusal is not null)
        {
            Append(h.Kind, FrameFlags.Reply | FrameFlags.Error, h.RequestId, refusal,
                static (w, m) => ClusterCodec.WriteError(w, ClusterErrorCode.Unauthenticated, m));
            Flush();
            throw new ProtocolException("refused: " + refusal);
        }
        if (!_host.Gate.TryComplete(this, out var full))
        {
            Append(h.Kind, FrameFlags.Reply | FrameFlags.Error, h.RequestId, full,
                static (w, m) => ClusterCodec.WriteError(w, ClusterErrorCode.TooManyConnections, m));
            Flush();
            throw new ProtocolException("refused: " + full);
        }
        _hello = true;
        // The lease's GPUs: what RayContext.GpuIds shows, and what CUDA sees (as Ray sets
        // CUDA_VISIBLE_DEVICES for a task); this worker serves one lease at a time.
        // A session that comes once the worker holds an actor is a handle passed to another
        // process (no lease of its own): the actor's GPUs stay as its lease set them.
        if (_host.Actor is null)
        {
            GpuIds = gpus;
            Environment.SetEnvironmentVariable("CUDA_VISIBLE_DEVICES", gpus.Length == 0 ? null : string.Join(',', gpus));
        }
        MaxPayload = Driver.WorkerSessionLimits.MaxPayload;
        Append(h.Kind, FrameFlags.Reply, h.RequestId, _runtime.Options.WorkerId, static (w, id) => ClusterCodec.WriteWorkerHelloReply(w, id, Environment.ProcessId));
    }

    private void Define(ReadOnlySpan<byte> p)
    {
        var (index, assembly, type, token, method) = ClusterCodec.DecodeDefineFunction(new ReadOnlySequence<byte>(p.ToArray()));
        FunctionSlot slot;
        try { slot = new FunctionSlot(WorkerFunction.Resolve(_runtime.LoadAssembly(assembly), type, token, method), null); }
        catch (Exception e) when (e is not ProtocolException)
        {
            slot = new FunctionSlot(null, $"cannot load {type}.{method} from {assembly}: {e.GetType().Name}: {e.Message}");
        }
        _functions[index] = slot;
    }

    private void Run(in FrameHeader h, ReadOnlySpan<byte> p, object? actor)
    {
        var off = 0;
        var index = (uint)ValueWire.ReadI32(p, ref off);
        RuntimeEnvs.WorkerRuntimeEnvs.Defined? env = null;
        if ((index & WithRuntimeEnv) != 0)
        {
            index &= ~WithRuntimeEnv;
            env = FindEnv((uint)ValueWire.ReadI32(p, ref off));
        }
        // A task runs in its own environment (or none); an actor's calls in the actor's.
        if (actor is null)
        {
            if (env?.Error is { } envError)
            {
                ReplyError(h.Kind, h.RequestId, TaskWire.SystemError, new InvalidOperationException(envError));
                return;
            }
            _runtime.Envs.Switch(env);
        }
        var resultId = new ObjectId(ValueWire.ReadU64(p, ref off), ValueWire.ReadU64(p, ref off));
        int argc = ValueWire.ReadU16(p, ref off);
        if (!_functions.TryGetValue(index, out var slot)) throw new ProtocolException($"function {index} was never defined on this connection");
        if (slot.Function is not { } fn)
        {
            Reply(h, (TaskWire.SystemError, slot.Error!), static (w, s) => TaskWire.WriteError(w, s.Item1, "Ray.WorkerError", s.Item2, null));
            return;
        }
        var first = actor is null ? 0 : 1;
        if (argc + first != fn.Parameters.Length) throw new ProtocolException($"{fn.Name} takes {fn.Parameters.Length - first} arguments; the task has {argc}");
        WorkerCall call;
        try { call = fn.Invoker.Bind(p, ref off, actor, _runtime); } // each argument decoded as its type
        catch (Exception e) when (e is not ProtocolException)
        {
            ReplyError(h.Kind, h.RequestId, TaskWire.SystemError, e);
            return;
        }
        var streamSpec = StreamWire.ReadSpec(p, ref off);
        if (TakeCancelledBeforeStart(resultId))
        {
            // Cancelled while it waited behind another call here: it never runs (Ray's cancel of a queued task).
            ReplyError(h.Kind, h.RequestId, TaskWire.SystemError, ExceptionFactory.Cancelled(fn.Name, default));
            return;
        }
        if (streamSpec is { } stream)
        {
            StartStream(h, fn, call, actor, stream);
            return;
        }
        object? result;
        if (actor is not null && _host.ActorExecutor is { } executor)
        {
            executor.Submit(new WorkerActorCall(this, fn, call, h.Kind, h.RequestId, resultId, _runtime));
            return;
        }
        // One call at a time on an actor, whichever session (handle) sent it.
        var actorLock = actor is null ? null : _host.ActorLock;
        if (actorLock is not null && !Monitor.TryEnter(actorLock))
        {
            FlushNow(); // replies appended so far go out before this thread waits for another session's call
            Monitor.Enter(actorLock);
        }
        t_inTask = true;
        if (actor is null) Logs.WorkerLogCapture.Enter(fn.Name); // an actor's lines carry its class name
        EnterRunning(resultId);
        try
        {
            try { result = fn.Invoke(call); }
            catch (Exception e)
            {
                Logs.WorkerLogCapture.Failed(fn.Name, e);
                ReplyError(h.Kind, h.RequestId, TaskWire.UserError, e);
                return;
            }
            finally
            {
                // The actor is free for the next call before this one's result is readied: a
                // returned ref may be waited for, and its producer may call this actor.
                if (actorLock is not null)
                {
                    Monitor.Exit(actorLock);
                    actorLock = null;
                }
            }
            // Still in the task: a wait for refs it returns lends its CPU out.
            try { result = fn.Prepare(result, _runtime); }
            catch (Exception e) when (e is not ProtocolException)
            {
                ReplyError(h.Kind, h.RequestId, TaskWire.SystemError, e);
                return;
            }
        }
        finally
        {
            t_inTask = false;
            Logs.WorkerLogCapture.Leave();
            LeaveRunning();
            if (actorLock is not null) Monitor.Exit(actorLock);
        }
        ReplyResult(h.Kind, h.RequestId, fn, result, resultId);
    }

    private void CreateActor(in FrameHeader h, ReadOnlySpan<byte> p)
    {
        var off = 0;
        var assemblyPath = ValueWire.ReadUtf8(p, ref off);
        var typeName = ValueWire.ReadUtf8(p, ref off);
        var token = ValueWire.ReadI32(p, ref off);
        int argc = ValueWire.ReadU16(p, ref off);
        try
        {
            var assembly = _runtime.LoadAssembly(assemblyPath);
            var ctor = assembly.ManifestModule.ResolveMethod(token) as System.Reflection.ConstructorInfo
                ?? throw new InvalidOperationException($"constructor token 0x{token:x8} of {typeName} is not a constructor in {assembly.FullName}: another build of the job's code?");
            var args = new object?[argc];
            for (var i = 0; i < argc; i++)
            {
                var argType = ValueWire.ReadUtf8(p, ref off);
                var v = ValueWire.Read(p, ref off);
                args[i] = v.Tag == ValueWire.Null ? null : MemoryPack.MemoryPackSerializer.Deserialize(_runtime.FindType(argType), v.Bytes);
            }
            var maxConcurrency = 1;
            if (off < p.Length)
            {
                maxConcurrency = ValueWire.ReadI32(p, ref off);
                if (maxConcurrency is < 1 or > MaxActorConcurrency)
                    throw new ProtocolException($"CreateActor asks for max concurrency {maxConcurrency}; 1..{MaxActorConcurrency} is allowed");
            }
            // The actor's environment (or none: not what the worker's last task left) kept for its life.
            var actorEnv = off < p.Length ? FindEnv((uint)ValueWire.ReadI32(p, ref off)) : null;
            if (off != p.Length) throw new ProtocolException("CreateActor has trailing bytes");
            if (actorEnv?.Error is { } envError) throw new InvalidOperationException(envError);
            _runtime.Envs.Switch(actorEnv);
            object instance;
            try { instance = ctor.Invoke(args); }
            catch (System.Reflection.TargetInvocationException e) when (e.InnerException is not null)
            {
                Logs.WorkerLogCapture.Failed((ctor.DeclaringType?.Name ?? "actor") + " constructor", e.InnerException);
                ReplyError(h.Kind, h.RequestId, TaskWire.UserError, e.InnerException);
                return;
            }
            Logs.WorkerLogCapture.SetActor(ctor.DeclaringType?.Name ?? "actor", ProcessActorId);
            var executor = maxConcurrency > 1
                ? new Actors.ActorExecutor(maxConcurrency, "ray-actor-" + ctor.DeclaringType?.Name, new Actors.DedicatedThreadContext("ray-actor-" + ctor.DeclaringType?.Name))
                : null;
            _host.SetActor(this, instance, executor);
            try { ActorCreatedNotice?.Invoke(); } // before the reply: a detached actor's lease outlives its job only from here
            catch (Exception e) when (e is RayClusterException or ObjectDisposedException or InvalidOperationException or IOException) { }
            Reply(h, 0, static (w, _) => { w.U8(TaskWire.Ok); ValueWire.WriteDirect(w, Unit.Value); });
        }
        catch (Exception e) when (e is not ProtocolException)
        {
            ReplyError(h.Kind, h.RequestId, TaskWire.SystemError, e);
        }
    }

    private void Reply<TState>(in FrameHeader h, TState state, Action<PayloadWriter, TState> write) =>
        Append(h.Kind, FrameFlags.Reply, h.RequestId, state, write);

    /// <summary>The most calls an actor may have in flight in a worker (as the embedded runtime allows any, a sanity bound).</summary>
    internal const int MaxActorConcurrency = 1 << 20;

    // A call the actor executor finished (on one of its threads, never the receive thread):
    // its reply is sent at once.
    internal void ReplyCall(WorkerActorCall call, WorkerActorCall.Outcome outcome)
    {
        if (outcome.Error is { } error && !outcome.SystemError) Logs.WorkerLogCapture.Failed(call.Function.Name, error);
        if (outcome.Error is { } failed) ReplyError(call.Kind, call.RequestId, outcome.SystemError ? TaskWire.SystemError : TaskWire.UserError, failed);
        else ReplyResult(call.Kind, call.RequestId, call.Function, outcome.Prepared, call.ResultId);
        Flush(); // a closed connection is not an error here: nobody waits for the reply any more
    }

    private void ReplyError(ushort kind, ulong requestId, byte status, Exception error)
    {
        if (status == TaskWire.SystemError) status = TaskWire.SystemStatus(error); // a full store is not a dead worker
        Append(kind, FrameFlags.Reply, requestId, (status, error), static (w, s) =>
        {
            TaskWire.WriteError(w, s.status, s.error);
            if (s.status == TaskWire.StoreError) TaskWire.WriteErrorObject(w, s.error);
        });
    }

    // The result as <see cref="WorkerFunction.Prepare"/> readied it; an encoding failure is sent
    // instead (Append cuts the half-written reply back).
    private void ReplyResult(ushort kind, ulong requestId, WorkerFunction fn, object? prepared, ObjectId resultId)
    {
        try
        {
            Append(kind, FrameFlags.Reply, requestId, (fn, prepared, resultId, _runtime),
                static (w, s) => { w.U8(TaskWire.Ok); s.fn.Encoder(w, s.prepared, s.resultId, s._runtime); });
        }
        catch (Exception e) when (e is not ProtocolException)
        {
            ReplyError(kind, requestId, TaskWire.SystemError, e);
        }
    }

    /// <summary>Marks this thread as running user code of a task or actor call (see <see cref="InTask"/>).</summary>
    internal static void EnterTask() => t_inTask = true;

    internal static void LeaveTask() => t_inTask = false;

    [ThreadStatic] private static bool t_inTask;

    /// <summary>The GPUs of the lease this worker serves now (from the driver's WorkerHello).</summary>
    internal static IReadOnlyList<int> GpuIds { get; private set; } = [];

    /// <summary>True on a thread running user code of a task or actor call.</summary>
    internal static bool InTask => t_inTask;

    /// <summary>Tells the raylet this worker's actor exists (ActorCreated; set by the worker host).</summary>
    internal static Action? ActorCreatedNotice { get; set; }

    /// <summary>Bit 31 of a PushTask's fn index: a u32 runtime environment index follows it.</summary>
    internal const uint WithRuntimeEnv = 0x8000_0000;

    private RuntimeEnvs.WorkerRuntimeEnvs.Defined FindEnv(uint index) =>
        _envs.TryGetValue(index, out var env) ? env : throw new ProtocolException($"runtime environment {index} was never defined on this connection");

    private readonly record struct FunctionSlot(WorkerFunction? Function, string? Error);
}
