using Microsoft.Extensions.Logging;

namespace Ray.Raylet.Leases;

internal sealed partial class LeaseManager
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Job {JobId} registered ('{Name}', driver pid {DriverPid}, {CodePaths} code paths); prestarting {Workers} workers")]
        public static partial void JobRegistered(ILogger logger, uint jobId, string name, int driverPid, int codePaths, int workers);

        [LoggerMessage(2, LogLevel.Information, "Job {JobId} ended ({Reason}): killed {Workers} workers, dropped {Pending} waiting lease requests")]
        public static partial void JobEnded(ILogger logger, uint jobId, string reason, int workers, int pending);

        [LoggerMessage(3, LogLevel.Information, "Worker {WorkerId} of job {JobId} started as pid {Pid}; log {LogFile}")]
        public static partial void WorkerStarted(ILogger logger, uint workerId, uint jobId, int pid, string logFile);

        [LoggerMessage(4, LogLevel.Information, "Worker {WorkerId} of job {JobId} (pid {Pid}) registered; socket {Socket}")]
        public static partial void WorkerRegistered(ILogger logger, uint workerId, uint jobId, int pid, string socket);

        [LoggerMessage(5, LogLevel.Warning, "Worker {WorkerId} of job {JobId} (pid {Pid}, lease {LeaseId}) died: {Reason}")]
        public static partial void WorkerDied(ILogger logger, uint workerId, uint jobId, int pid, ulong leaseId, string reason);

        [LoggerMessage(6, LogLevel.Warning, "Worker {WorkerId} of job {JobId} failed to start: {Reason} ({Failures} in a row)")]
        public static partial void WorkerStartFailed(ILogger logger, uint workerId, uint jobId, string reason, int failures);

        [LoggerMessage(7, LogLevel.Information, "Killed worker {WorkerId} of job {JobId} (pid {Pid}): {Reason}")]
        public static partial void WorkerKilled(ILogger logger, uint workerId, uint jobId, int pid, string reason);

        [LoggerMessage(8, LogLevel.Debug, "Lease {LeaseId} granted to job {JobId}: worker {WorkerId}, {Resources}, {Purpose}")]
        public static partial void LeaseGranted(ILogger logger, ulong leaseId, uint jobId, uint workerId, string resources, string purpose);

        [LoggerMessage(9, LogLevel.Information, "Lease request {RequestId} of job {JobId} is infeasible: {Reason}")]
        public static partial void Infeasible(ILogger logger, uint jobId, ulong requestId, string reason);

        [LoggerMessage(10, LogLevel.Warning, "{Count} worker processes had not exited 5 s after they were killed")]
        public static partial void SlowWorkerExit(ILogger logger, int count);

        [LoggerMessage(11, LogLevel.Warning, "Freeing the objects of job {JobId} failed")]
        public static partial void JobCleanupFailed(ILogger logger, uint jobId, Exception error);

        [LoggerMessage(12, LogLevel.Warning, "Reaping idle workers failed; trying again at the next tick")]
        public static partial void ReapFailed(ILogger logger, Exception error);

        [LoggerMessage(13, LogLevel.Debug, "Removed the socket {Socket} worker {WorkerId} of job {JobId} left")]
        public static partial void WorkerSocketRemoved(ILogger logger, uint workerId, uint jobId, string socket);

        [LoggerMessage(14, LogLevel.Debug, "Placement group {Group} of job {JobId} registered, {State} ({Resources})")]
        public static partial void PlacementGroupCreated(ILogger logger, string group, uint jobId, string state, string resources);

        [LoggerMessage(15, LogLevel.Information, "Placement group {Group} removed ({Reason}); {Killed} workers leased in it killed")]
        public static partial void PlacementGroupRemoved(ILogger logger, string group, string reason, int killed);
    }
}
