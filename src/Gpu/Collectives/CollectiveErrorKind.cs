namespace Ray.Gpu.Collectives;

/// <summary>Why a collective operation failed; the same on every rank of the group.</summary>
public enum CollectiveErrorKind
{
    /// <summary>A rank called <see cref="Communicator.Abort(string?)"/> (it died or left).</summary>
    RankAborted = 1,

    /// <summary>A rank did not arrive within the group's timeout.</summary>
    Timeout = 2,

    /// <summary>Ranks called different operations, element types or sizes.</summary>
    Mismatch = 3,

    /// <summary>The group was disposed (or, across processes, a rank left it) while operations were pending.</summary>
    GroupClosed = 4,

    /// <summary>A rank's process died (was killed, crashed) while others waited for it.</summary>
    RankDied = 5,

    /// <summary>A TCP peer refused the handshake (wrong token, group name, world size or frame limit; duplicate rank).</summary>
    Refused = 6,

    /// <summary>A TCP peer sent a malformed or oversized frame; its connection was closed.</summary>
    ProtocolError = 7,
}
