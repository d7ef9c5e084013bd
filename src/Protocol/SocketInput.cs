using System.Net.Sockets;

namespace Ray.Protocol;

/// <summary>What waits in a socket unread, for the handshake gate's eviction choice.</summary>
internal static class SocketInput
{
    /// <summary>True when bytes wait in <paramref name="socket"/> that nobody has read yet (false once it is closed).</summary>
    internal static bool HasUnread(Socket socket)
    {
        try { return socket.Available > 0; }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { return false; }
    }
}
