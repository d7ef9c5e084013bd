namespace Ray.Contract.Messages;

/// <summary>A worker process announcing itself to its raylet.</summary>
internal sealed record WorkerRegistration(uint JobId, uint WorkerId, int Pid, string SocketPath);
