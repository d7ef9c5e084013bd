using Microsoft.Extensions.Logging;
using Ray.Protocol;

namespace Ray.Raylet.Server;

internal sealed partial class RayletServer
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Connection {Connection} from {Peer} accepted")]
        public static partial void Accepted(ILogger logger, long connection, string peer);

        [LoggerMessage(2, LogLevel.Information, "Connection {Connection} from {Peer} authenticated")]
        public static partial void Authenticated(ILogger logger, long connection, string peer);

        [LoggerMessage(3, LogLevel.Information, "Connection {Connection} from {Peer} closed: {Reason}")]
        public static partial void Closed(ILogger logger, long connection, string peer, string reason);

        [LoggerMessage(4, LogLevel.Warning, "Connection {Connection} from {Peer} closed: {Reason}")]
        public static partial void ClosedBadPeer(ILogger logger, long connection, string peer, string reason);

        [LoggerMessage(5, LogLevel.Warning, "Accept failed: {Error} ({Suppressed} more since the last line)")]
        public static partial void AcceptFailed(ILogger logger, string error, long suppressed);

        [LoggerMessage(6, LogLevel.Warning, "Rejected connection {Connection} from {Peer} before Hello: {Reason} ({Suppressed} more {Kind} rejections since the last such line)")]
        public static partial void Rejected(ILogger logger, long connection, string peer, string reason, long suppressed, ConnectionRejection kind);

        [LoggerMessage(7, LogLevel.Error, "Connection {Connection} from {Peer} failed")]
        public static partial void ConnectionCrashed(ILogger logger, long connection, string peer, Exception error);

        [LoggerMessage(8, LogLevel.Warning, "{Count} connections did not finish closing within 5 s")]
        public static partial void SlowClose(ILogger logger, int count);
    }
}
