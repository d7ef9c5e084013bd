namespace Ray.Contract.Messages;

/// <summary>
/// Every message kind of the driver &lt;-&gt; raylet &lt;-&gt; worker conversations (documented in
/// docs/PROTOCOL.md, "Raylet" and "Cluster"), one enum for both sides. Drivers, workers and the
/// CLI send Hello first with the cluster token, then these. A reply has the request's kind and
/// id with the Reply flag; an error reply adds the Error flag and carries
/// <c>u16 code | string message</c> (<see cref="ClusterErrorCode"/>). Every payload is encoded
/// and decoded by <see cref="ClusterCodec"/> (value-carrying task payloads: Ray.Core's TaskWire).
/// </summary>
public enum ClusterMessageKind : ushort
{
    // ---- the raylet's own (TCP), any authenticated peer ----

    /// <summary>
    /// The versioned handshake, first on every connection: <c>u32 version | string token</c> ->
    /// <c>u32 version | string node id | string plasma socket path | string object store path</c>.
    /// A wrong version or token gets an error reply and the connection is closed.
    /// </summary>
    Hello = 1,

    /// <summary>Empty -> the node's status (<see cref="RayletStatusReport"/>, see <see cref="ClusterCodec"/>).</summary>
    Status = 2,

    /// <summary>Empty -> empty; then the raylet stops gracefully. May be sent one-way (NoReply).</summary>
    Shutdown = 3,

    // ---- to the raylet (TCP), after Hello ----

    /// <summary>
    /// A driver registers its job: <c>i32 driver pid | string job name | u16 n | string code path* [| u8 flags]</c>
    /// (flags, optional: 1 = a nested driver inside a worker process: no workers are prestarted)
    /// -> <c>u32 job id | string node id | string plasma socket | string session dir | u16 n |
    /// (string resource | i64 total units)* | u64 owner id</c> (the driver's owner id: the node's tag and an
    /// owner number, see Ray.Contract.Ids.OwnerIds). One job per connection; the connection closing
    /// ends the job (its workers are killed, its leases freed).
    /// </summary>
    RegisterJob = 10,

    /// <summary>
    /// Asks for a worker lease: <c>u8 purpose (0 task, 1 actor) | u16 n | (string resource | i64 units)*
    /// [| u64 group owner | u64 group sequence | i32 bundle index (-1: any)]</c> (the optional tail places
    /// the lease into a placement group's bundle: its resources come from the bundle's reservation)
    /// -> (when granted, possibly much later) <c>u64 lease id | u32 worker id | i32 pid | string worker socket |
    /// u16 n | u32 GPU id*</c> (the node's GPUs the lease uses).
    /// Error Infeasible when the node (or the bundle) can never fit the request, PlacementGroupRemoved when
    /// the group is removed (also while the request waits), NoJob before RegisterJob.
    /// </summary>
    RequestLease = 11,

    /// <summary>
    /// Gives a lease back: <c>u64 lease id | u8 flags (1: the worker is broken, kill it)</c> -> empty.
    /// Unknown or already returned leases are not an error (a worker that died returned its own).
    /// </summary>
    ReturnLease = 12,

    /// <summary>
    /// A worker process announces itself: <c>u32 job id | u32 worker id | i32 pid | string socket</c>
    /// -> empty. The connection stays open for the worker's life; its close means the worker died.
    /// </summary>
    RegisterWorker = 13,

    /// <summary>
    /// One-way, from a worker on its registration connection: <c>u8 blocked</c>. 1: the task it
    /// runs is blocked in Get (on a nested task), so its lease's resources are lent to others
    /// until 0 says it runs again (then taken back, even if that oversubscribes for a moment,
    /// as Ray does). Without it, nested tasks could wait forever for the resources their parents hold.
    /// </summary>
    WorkerBlocked = 14,

    /// <summary>
    /// Registers a placement group of the job and reserves its bundles when they fit (all or
    /// nothing): <c>u64 owner | u64 sequence | string name ("": none) | u8 strategy (0 PACK, 1 SPREAD,
    /// 2 STRICT_PACK, 3 STRICT_SPREAD) | u8 lifetime (0 job, 1 detached) | u16 bundles | (u16 n |
    /// (string resource | i64 units)*)*</c> -> <c>u8 state (0 pending, 1 created)</c>. A pending group
    /// is created when resources free up (<see cref="WaitPlacementGroup"/> waits for it). Errors:
    /// Infeasible (the node can never hold the group), AlreadyExists (the name or id is taken), NoJob.
    /// </summary>
    CreatePlacementGroup = 15,

    /// <summary>
    /// Removes a placement group (any job's): <c>u64 owner | u64 sequence</c> -> empty. Its
    /// reservation goes back to the node, the workers holding leases in it are killed, its waiting
    /// lease requests fail with PlacementGroupRemoved. Unknown ids are not an error. May be one-way.
    /// </summary>
    RemovePlacementGroup = 16,

    /// <summary>
    /// Empty -> the placement groups on this raylet: <c>u16 n | (u64 owner | u64 sequence | string name |
    /// u8 strategy | u8 lifetime | u8 state | u32 job | u16 bundles | (u16 n | (string resource | i64 total |
    /// i64 used)*)*)*</c>.
    /// </summary>
    PlacementGroupTable = 17,

    /// <summary>
    /// <c>u64 owner | u64 sequence</c> -> empty once the group is created (now or later); error
    /// PlacementGroupRemoved when it is removed first or unknown.
    /// </summary>
    WaitPlacementGroup = 18,

    /// <summary>
    /// Claims an actor name in a namespace for the job (names are cluster-wide, per namespace):
    /// <c>string namespace | string name | string actor type (full name)</c> -> <c>u8 status</c>
    /// (0 claimed; 1 a live actor of another claim holds it, nothing changed). The claim holds
    /// until the job sets an empty address or ends.
    /// </summary>
    RegisterActorName = 19,

    /// <summary>
    /// One-way, from the job that claimed the name: <c>string namespace | string name | u32 n | address
    /// bytes</c> (the actor's handle as it crosses processes; empty: the actor died and the name is
    /// free). Lookups waiting for the actor are answered.
    /// </summary>
    SetActorAddress = 20,

    /// <summary>
    /// <c>string namespace | string name</c> -> <c>string actor type | u32 n | address bytes</c>, once
    /// the named actor is alive (now or later); error ActorNotFound when no live claim holds the name
    /// (or it is freed while the lookup waits).
    /// </summary>
    LookupActorName = 21,

    /// <summary>
    /// One-way. From a driver: <c>u32 worker id | u64 result owner | u64 result sequence</c>: the task
    /// whose result that is, running on the worker the driver leased, is cancelled; the raylet passes
    /// <c>u64 result owner | u64 result sequence</c> on to that worker's registration connection, where
    /// the running task's cancellation token is signalled (its receive thread runs the task, so the
    /// driver's own connection to the worker cannot carry it). Others' workers are ignored.
    /// </summary>
    CancelTask = 22,

    /// <summary>
    /// One-way: <c>u32 worker id</c>: kills the worker of a detached actor (any driver may; it
    /// outlived the job that made it), or of an actor of the sender's own job. The names the actor
    /// held are freed. Other workers are ignored.
    /// </summary>
    KillActorWorker = 23,

    /// <summary>
    /// One-way, borrowed objects (docs/PROTOCOL.md, "Borrowed objects"). From a worker:
    /// <c>u64 owner | u64 sequence</c>: it holds a ref to that object, which was still pending when
    /// its owner sent it, and wants its value. The raylet passes <c>u32 worker id | u64 owner |
    /// u64 sequence</c> on to the owner's connection (the driver, or a worker's nested driver,
    /// whose owner id that is); an unknown owner is answered at once with a failed
    /// <see cref="ObjectValue"/>.
    /// </summary>
    WantObject = 24,

    /// <summary>
    /// One-way. From an owner: <c>u32 worker id | u64 owner | u64 sequence | ref body</c> (the
    /// object's value or failure, as a ref carries it between processes) once the object is done;
    /// the raylet passes <c>u64 owner | u64 sequence | ref body</c> on to that worker. When the
    /// owner's connection closes first, the raylet sends the waiting workers a failed body itself.
    /// </summary>
    ObjectValue = 25,

    /// <summary>
    /// One-way. From a worker: <c>u64 owner | u64 sequence | u8 flags (1 force, 2 recursive)</c>:
    /// cancel the task that makes this borrowed object (Ray's cancel from a process that does not
    /// own the ref). The raylet passes the same payload on to the owner's connection, which
    /// cancels as its own <c>Cancel</c> would; the result reaches the borrower as the object's
    /// failure (ObjectValue).
    /// </summary>
    CancelObject = 26,

    /// <summary>
    /// One-way, empty. From a worker's registration connection: the actor it was leased for now
    /// exists (its constructor returned). A detached actor's lease outlives its job only then: a
    /// driver that dies between the grant and the creation leaves nothing behind.
    /// </summary>
    ActorCreated = 27,

    /// <summary>
    /// From a raylet joining the cluster (<c>ray start --address HEAD</c>), to the head, after Hello
    /// with the cluster token: the joining node as in a Status reply's node entry (id, address,
    /// flags, resources) -> empty. Refused by a raylet that is not the head. The connection is
    /// then that node's: its close, or no heartbeat within the head's node timeout, marks the
    /// node dead.
    /// </summary>
    RegisterNode = 28,

    /// <summary>One-way, on a registered node's connection: the node as it is now (its resources' use), every second.</summary>
    NodeHeartbeat = 29,

    // ---- driver -> worker (the worker's Unix socket) ----

    /// <summary><c>u32 version | string token | u32 job id [| u16 n | u32 GPU id*]</c> -> <c>u32 worker id | i32 pid</c>.</summary>
    WorkerHello = 100,

    /// <summary>
    /// One-way, before the function's first use on this connection: <c>u32 fn index |
    /// string assembly path | string declaring type (assembly-qualified) | i32 metadata token |
    /// string method name</c>.
    /// </summary>
    DefineFunction = 101,

    /// <summary>A task: see TaskWire. Reply: a result (see TaskWire).</summary>
    PushTask = 102,

    /// <summary>
    /// Makes this worker the actor's: <c>string actor type (assembly-qualified) | u16 n |
    /// (string arg type | arg)*</c> -> a result (Unit on success; the constructor's exception on failure).
    /// </summary>
    CreateActor = 103,

    /// <summary>An actor method call, like <see cref="PushTask"/>; the function's first parameter is the actor.</summary>
    ActorCall = 104,

    /// <summary>
    /// One-way, worker -> driver, on the request id of a streaming PushTask / ActorCall: one item
    /// its generator yielded, <c>u64 index | value</c> (as a result's value), sent as it is produced
    /// and before the call's reply (docs/PROTOCOL.md, "Streaming returns").
    /// </summary>
    StreamItem = 105,

    /// <summary>
    /// One-way, driver -> worker, on the request id of a streaming call: <c>i64 consumed</c>, how
    /// many items the consumer has taken (back-pressure), or -1: stop producing.
    /// </summary>
    StreamAck = 106,

    /// <summary>
    /// One-way, driver -> worker, before a runtime environment's first use on this connection:
    /// <c>u32 env index | u16 n | (string name | string value)* | string working-dir hash ('' = none) |
    /// bytes zip of the working directory</c>. A PushTask whose fn index has bit 31 set carries
    /// <c>u32 env index</c> after it; a CreateActor may end with one after its max concurrency.
    /// </summary>
    DefineRuntimeEnv = 107,
}
