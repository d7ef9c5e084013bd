namespace Ray.Tasks;

/// <summary>Waits for an async remote function's task on its worker, giving the CPU back meanwhile.</summary>
internal static class TaskBlocking
{
    internal static T Wait<T>(Task<T> task)
    {
        if (!task.IsCompleted)
        {
            using var blocked = Workers.WorkerContext.EnterBlockedAny();
            ((IAsyncResult)task).AsyncWaitHandle.WaitOne();
        }
        return task.GetAwaiter().GetResult(); // completed here: only unwraps the result or the exception (justified)
    }

    internal static void Wait(Task task)
    {
        if (!task.IsCompleted)
        {
            using var blocked = Workers.WorkerContext.EnterBlockedAny();
            ((IAsyncResult)task).AsyncWaitHandle.WaitOne();
        }
        task.GetAwaiter().GetResult(); // completed here: only unwraps the exception (justified)
    }
}
