using Ray.Contract.Messages;
using Ray.Raylet.Node;

namespace Ray.Raylet.Leases;

/// <summary>A lease request waiting for resources or a worker; answered on the driver's connection by request id.</summary>
/// <param name="RequestId">The driver's request id.</param>
/// <param name="Purpose">A task or an actor lease.</param>
/// <param name="Demand">What it holds while leased.</param>
/// <param name="Group">The placement group it is placed into, or null for the node's free resources.</param>
/// <param name="Bundle">The bundle in <paramref name="Group"/> (-1: any).</param>
/// <param name="Detached">An actor lease that outlives its job (the worker is kept when the job ends).</param>
internal sealed record PendingLease(ulong RequestId, LeasePurpose Purpose, ResourceDemand Demand, PlacementGroupRecord? Group = null, int Bundle = -1, bool Detached = false);
