namespace Ray.Plasma.Server;

/// <summary>
/// Message kinds of the store protocol (documented in docs/PROTOCOL.md). A reply has the same
/// kind and request id with the Reply flag; an error reply adds the Error flag and carries
/// <c>u16 status | utf8 message</c>.
/// </summary>
public enum PlasmaMessageKind : ushort
{
    /// <summary>u32 version -> u32 version, u64 capacity, utf8 arena path.</summary>
    Hello = 1,
    /// <summary>id, u64 size, u32 type tag, u8 pinned -> u64 data offset.</summary>
    Create = 2,
    /// <summary>id -> empty.</summary>
    Seal = 3,
    /// <summary>id -> empty.</summary>
    Abort = 4,
    /// <summary>id, i64 timeout in microseconds (-1 = forever) -> u64 data offset, u64 size, u32 type tag.</summary>
    Get = 5,
    /// <summary>id; one way (NoReply).</summary>
    Release = 6,
    /// <summary>id -> u8 deleted.</summary>
    Delete = 7,
    /// <summary>id -> u8 contained.</summary>
    Contains = 8,
    /// <summary>empty -> the fields of PlasmaStats in declaration order (see PlasmaStatsCodec).</summary>
    Stats = 9,
    /// <summary>
    /// Empty; one way (NoReply), client to store: this client keeps views it is not using (a
    /// driver's cache of held views) and answers <see cref="Reclaim"/>, so the store asks it to
    /// drop them before it reports itself full.
    /// </summary>
    HoldsViews = 10,
    /// <summary>
    /// Store to client, a request in the store's own id space (no Reply flag; the client answers
    /// with the Reply flag): empty -> u64 bytes released. The client first sends a Release for
    /// every view it keeps but does not use, then the reply, so the store, which reads one
    /// connection's frames in order, has applied the releases when the reply arrives.
    /// </summary>
    Reclaim = 11,
    /// <summary>
    /// i64 bytes -> i64 region offset, i64 region size: a region of the arena this client
    /// sub-allocates from without asking (taken from free space only; see docs/PROTOCOL.md, "Regions").
    /// </summary>
    GrantRegion = 12,
    /// <summary>
    /// id, i64 data offset, i64 data size, u32 type tag, u8 flags (bit 0 pinned, bit 1 keep a
    /// reference); one way (NoReply): seals an object the client wrote inside one of its regions.
    /// Refused, it gets an error frame with its id and the store closes the connection.
    /// </summary>
    SealInRegion = 13,
    /// <summary>i64 region offset; one way (NoReply): what is left of the region returns to the store.</summary>
    RetireRegion = 14,
    /// <summary>
    /// u32 count, then count x (id, u8 ops: bit 0 release one reference, bit 1 delete; release
    /// first; bit 2, only with both: the client claimed the block back, see BlockClaim); one way
    /// (NoReply): a batch of frees, applied in order; an entry that fails (nothing to release,
    /// unknown, not sealed) is skipped, as a one-way Release or Delete is. A claimed entry that
    /// does not remove an object the client sealed in its region gets an error frame and the close.
    /// </summary>
    Free = 15,
    /// <summary>
    /// Store to client, one way (NoReply, request id 0), once, right after the client's Free
    /// that recycled a block to it first: i64 offset of its recycle mailbox in the arena, u32
    /// entries it holds. Blocks recycled to the client are published there (see
    /// docs/PROTOCOL.md, "Recycled blocks").
    /// </summary>
    Mailbox = 16,
    /// <summary>
    /// u32 count, then count x (i64 offset, i64 length); one way (NoReply): recycled blocks (or
    /// parts of them) the client will not use return to the store. Refused (not held), it gets
    /// an error frame with its id and the store closes the connection.
    /// </summary>
    ReturnBlocks = 17,
}

/// <summary>Protocol constants shared by the server and client.</summary>
public static class PlasmaProtocol
{
    /// <summary>The protocol version a client announces; the server refuses others.</summary>
    public const uint Version = 1;

    /// <summary>Control messages are small; anything bigger is malformed.</summary>
    public const int MaxPayload = 64 * 1024;

    /// <summary>The largest frame the store accepts before a client's Hello (a Hello is 4 bytes).</summary>
    public const int MaxHelloPayload = 4096;
}
