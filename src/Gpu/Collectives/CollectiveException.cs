namespace Ray.Gpu.Collectives;

/// <summary>
/// A collective operation failed. Once any rank fails (abort, timeout, mismatch), the group is
/// poisoned: every pending and later operation on every rank throws this, with the same
/// <see cref="Kind"/> and <see cref="FailedRank"/>, so no rank waits forever.
/// </summary>
public sealed class CollectiveException : GpuException
{
    internal CollectiveException(CollectiveErrorKind kind, string groupName, int rank, int failedRank, string detail)
        : base($"Collective group '{groupName}' failed ({kind}) on rank {rank}; failed rank {failedRank}: {detail}")
    {
        Kind = kind;
        GroupName = groupName;
        Rank = rank;
        FailedRank = failedRank;
    }

    /// <summary>Why the group failed.</summary>
    public CollectiveErrorKind Kind { get; }

    /// <summary>Name of the group.</summary>
    public string GroupName { get; }

    /// <summary>The rank that observed the failure (the one this exception was thrown on).</summary>
    public int Rank { get; }

    /// <summary>The rank held responsible (the aborted one, or the one waited for); -1 when unknown.</summary>
    public int FailedRank { get; }
}
