using Ray.Contract.Messages;
using Ray.Raylet.Node;

namespace Ray.Raylet.Leases;

/// <summary>A lease request waiting for resources or a worker; answered on the driver's connection by request id.</summary>
internal sealed record PendingLease(ulong RequestId, LeasePurpose Purpose, ResourceDemand Demand);
