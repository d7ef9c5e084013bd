namespace Ray.Cluster.Worker;

internal static class WorkerHost
{
    internal static int Run(WorkerLaunchOptions options) => throw new NotImplementedException("worker host: in progress");
}
