using System.Net.Sockets;
using Ray.Protocol;

namespace Ray.Cluster.Transport;

/// <summary>
/// The cluster transport's name for a <see cref="FramedConnection"/> with a dedicated receive
/// thread (<see cref="ReceiveDriver.Thread"/>), the driver for the per-task path between a driver
/// and its workers, where a round trip is a handful of microseconds and a thread wake-up costs
/// tens of them: the thread spins for <c>spin</c> before it blocks, and callers send on their
/// own thread (Append, then Flush). Everything else is the shared connection's.
/// </summary>
internal abstract class FrameSocket(Socket socket, int maxPayload, TimeSpan spin, string threadName)
    : FramedConnection(socket, maxPayload, ReceiveDriver.Thread(spin, threadName))
{
    /// <summary>Changes the largest payload accepted from now on (on the receive thread, e.g. after a handshake).</summary>
    protected void SetMaxPayload(int maxPayload) => MaxPayload = maxPayload;
}
