namespace Ray.Plasma;

/// <summary>Outcome codes of store operations; stable numbers, sent in error replies.</summary>
public enum PlasmaStatus : ushort
{
    /// <summary>Success.</summary>
    Ok = 0,
    /// <summary>An object with this id already exists.</summary>
    ObjectExists = 1,
    /// <summary>No object has this id.</summary>
    ObjectNotFound = 2,
    /// <summary>The object is not sealed yet.</summary>
    ObjectNotSealed = 3,
    /// <summary>The object is sealed already (sealed twice, or aborted after seal).</summary>
    ObjectAlreadySealed = 4,
    /// <summary>No room even after eviction and spilling.</summary>
    StoreFull = 5,
    /// <summary>A get ran out of time.</summary>
    Timeout = 6,
    /// <summary>A malformed or impossible request (negative size, wrong client, ...).</summary>
    InvalidRequest = 7,
    /// <summary>The object is larger than the whole store.</summary>
    TooLarge = 8,
    /// <summary>The store is shutting down, or the connection to it was lost.</summary>
    Disconnected = 9,
    /// <summary>Spilling or restoring an object failed on disk.</summary>
    IoError = 10,
    /// <summary>The store's socket has as many connected clients as it allows (a Hello beyond them is refused).</summary>
    TooManyConnections = 11,
}
