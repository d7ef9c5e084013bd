using System.Buffers;
using System.Reflection;
using Ray.Contract.Session;
using Ray.Cluster.Transport;
using Ray.Cluster.Wire;
using Ray.Cluster.WorkerSide;

namespace Ray.Cluster.Driver;

/// <summary>
/// A driver's connection to its raylet: the job it registered (its code paths, so workers can
/// load the driver's assemblies), the node's resources, and lease requests. The job lives as
/// long as this connection: when the driver exits or dies, the raylet ends the job.
/// </summary>
internal sealed class ClusterSession : IDisposable
{
    private ClusterSession(ControlLink link, string token, JobAccepted job)
    {
        Link = link;
        Token = token;
        Job = job;
    }

    internal ControlLink Link { get; }
    internal string Token { get; }
    internal JobAccepted Job { get; }
    internal string Address => Link.Address;

    /// <summary>Where RAY_ADDRESS points, else the latest local session's address file.</summary>
    internal const string AddressVariable = SessionPaths.AddressVariable;

    /// <summary>
    /// Resolves an address ("host:port", "auto", a session directory or address file, or null for
    /// RAY_ADDRESS / the latest session) and the token (RAY_CLUSTER_TOKEN, else the address file)
    /// with <see cref="ClusterAddress.Resolve"/> (session files owned by another user are refused),
    /// then connects and registers the job.
    /// </summary>
    internal static ClusterSession Connect(string? address, string? token, string jobName, TimeSpan timeout, bool nested = false) =>
        // RayRuntime.Connect is blocking by contract (justified): the connect, Hello and RegisterJob
        // replies are completed by the socket and the link's own receive thread.
        ConnectAsync(address, token, jobName, timeout, nested, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>As <see cref="Connect"/>; a cancel stops the wait (a link that connects after it is closed at once).</summary>
    internal static async Task<ClusterSession> ConnectAsync(string? address, string? token, string jobName, TimeSpan timeout, bool nested, CancellationToken cancel)
    {
        ResolvedAddress resolved;
        try { resolved = ClusterAddress.Resolve(address, token); }
        catch (SessionAccessException e) { throw new RayClusterException(e.Message, e); }
        token = resolved.Token;
        // Connecting first, so an address with nothing behind it says so rather than "no token".
        var connecting = ControlLink.ConnectAsync(resolved.Address, token ?? "", timeout, requireToken: token is not null);
        ControlLink link;
        try { (link, _, _) = await connecting.WaitAsync(cancel).ConfigureAwait(false); }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            _ = connecting.ContinueWith(static t => { if (t.IsCompletedSuccessfully) t.Result.Link.Dispose(); },
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
        try
        {
            var reply = await link.RequestAsync((ushort)ClusterMessageKind.RegisterJob,
                ClusterCodec.EncodeRegisterJob(new JobRegistration(Environment.ProcessId, jobName, CodePaths(), nested)), timeout).WaitAsync(cancel).ConfigureAwait(false);
            var job = ClusterCodec.DecodeJobAccepted(new ReadOnlySequence<byte>(reply));
            return new ClusterSession(link, token!, job);
        }
        catch
        {
            link.Dispose(); // the raylet ends a job whose driver's link closes
            throw;
        }
    }

    /// <summary>
    /// Where the job's assemblies are: the application's directory and the directory of every
    /// loaded assembly outside the shared framework (as Ray's Java workers get a classpath).
    /// </summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("SingleFile", "IL3000",
        Justification = "Assemblies without a file (NativeAOT, single-file) have an empty Location and are skipped; their functions cannot run in worker processes.")]
    internal static List<string> CodePaths()
    {
        var framework = Path.GetDirectoryName(typeof(object).Assembly.Location);
        var dirs = new List<string> { Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory) };
        foreach (var a in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (a.IsDynamic || string.IsNullOrEmpty(a.Location)) continue;
            var dir = Path.GetDirectoryName(a.Location);
            if (dir is null || dir == framework || dirs.Contains(dir)) continue;
            if (dirs.Count < 64) dirs.Add(dir);
        }
        return dirs;
    }

    /// <summary>Asks the raylet for a worker lease (waits until one is granted).</summary>
    internal Task<LeaseGrant> RequestLeaseAsync(LeasePurpose purpose, IReadOnlyList<ResourceAmount> request, LeasePlacement? placement = null) =>
        RequestLeaseCoreAsync(purpose, request, placement);

    /// <summary>
    /// A lease request the caller may stop waiting for (an actor killed while its lease is
    /// queued): a grant that arrives after the cancel goes straight back to the raylet.
    /// </summary>
    internal async Task<LeaseGrant> RequestLeaseAsync(LeasePurpose purpose, IReadOnlyList<ResourceAmount> request, LeasePlacement? placement, CancellationToken cancel)
    {
        var pending = RequestLeaseCoreAsync(purpose, request, placement);
        try { return await pending.WaitAsync(cancel).ConfigureAwait(false); }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            _ = pending.ContinueWith(static (t, s) =>
            {
                if (t.IsCompletedSuccessfully) ((ClusterSession)s!).ReturnLease(t.Result.LeaseId, workerBroken: false);
            }, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
    }

    private async Task<LeaseGrant> RequestLeaseCoreAsync(LeasePurpose purpose, IReadOnlyList<ResourceAmount> request, LeasePlacement? placement)
    {
        var reply = await Link.RequestAsync((ushort)ClusterMessageKind.RequestLease, ClusterCodec.EncodeRequestLease(purpose, request, placement), Timeout.InfiniteTimeSpan).ConfigureAwait(false);
        return ClusterCodec.DecodeLeaseGrant(new ReadOnlySequence<byte>(reply));
    }

    /// <summary>A class's or actor's placement as a lease request carries it.</summary>
    internal static LeasePlacement? ToWire(PlacementGroups.BundlePlacement? placement) =>
        placement is { } p ? new LeasePlacement(p.Group.Id.Owner, p.Group.Id.Sequence, p.Bundle) : null;

    /// <summary>Asks the raylet for its status report (nodes with their resources' totals and what leases hold).</summary>
    internal async Task<RayletStatusReport> GetStatusAsync(TimeSpan timeout)
    {
        var reply = await Link.RequestAsync((ushort)ClusterMessageKind.Status, [], timeout).ConfigureAwait(false);
        return ClusterCodec.DecodeStatus(new ReadOnlySequence<byte>(reply));
    }

    /// <summary>Gives a lease back (one-way; idempotent at the raylet).</summary>
    internal void ReturnLease(ulong leaseId, bool workerBroken)
    {
        if (Link.IsClosed) return;
        Link.Send((ushort)ClusterMessageKind.ReturnLease, ClusterCodec.EncodeReturnLease(leaseId, workerBroken));
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _logForwarder, null)?.Dispose(); // prints the workers' last lines first
        Link.Dispose();
    }

    private Logs.WorkerLogForwarder? _logForwarder;

    /// <summary>Starts printing this job's worker output here (RuntimeOptions.LogToDriver).</summary>
    internal void ForwardWorkerLogs()
    {
        if (string.IsNullOrEmpty(Job.SessionDir) || !Directory.Exists(Job.SessionDir)) return; // a raylet on another machine
        var forwarder = new Logs.WorkerLogForwarder(Job.SessionDir, Job.JobId);
        if (Interlocked.CompareExchange(ref _logForwarder, forwarder, null) is not null) forwarder.Dispose();
    }
}
