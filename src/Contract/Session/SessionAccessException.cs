namespace Ray.Contract.Session;

/// <summary>
/// A session file or address that cannot be used: no cluster found, an address file that does
/// not parse, or session files owned by another user or writable by others. Ray.Core turns it
/// into a SessionAccessException for its users; the `ray` CLI prints its message.
/// </summary>
internal sealed class SessionAccessException(string message, Exception? inner = null) : Exception(message, inner);
