using Microsoft.Extensions.Logging;

namespace Ray.Raylet.Node;

public sealed partial class NodeManager
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Raylet {NodeId} listening on {Address}; session {SessionDir}; object store {PlasmaSocket} ({ArenaPath}, {Capacity} bytes); {ResourceCount} resources")]
        public static partial void Started(ILogger logger, string nodeId, string address, string sessionDir, string plasmaSocket, string arenaPath, long capacity, int resourceCount);

        [LoggerMessage(2, LogLevel.Information, "Shutdown requested: {Reason}")]
        public static partial void ShutdownRequested(ILogger logger, string reason);

        [LoggerMessage(3, LogLevel.Information, "Raylet {NodeId} stopped")]
        public static partial void Stopped(ILogger logger, string nodeId);

        [LoggerMessage(4, LogLevel.Warning, "Stopping the {Part} failed")]
        public static partial void StopStepFailed(ILogger logger, string part, Exception error);

        [LoggerMessage(5, LogLevel.Information, "Freed {Count} objects of job {JobId} from the object store")]
        public static partial void JobObjectsFreed(ILogger logger, uint jobId, int count);
    }
}
