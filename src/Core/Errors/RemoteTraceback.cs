using System.Text;

namespace Ray;

/// <summary>
/// The text of a <see cref="RayTaskException"/>, laid out like Ray's traceback: the remote frames
/// (most recent first, as .NET prints) before the driver's, with a line between them naming the
/// task. A dependency failure shows the failed argument's error, down to the root cause.
/// </summary>
internal static class RemoteTraceback
{
    internal static string Format(RayTaskException e)
    {
        var sb = new StringBuilder();
        sb.Append(e.GetType().FullName).Append(": ").Append(e.Message);
        if (e.IsDependencyFailure)
        {
            sb.AppendLine().Append(" ---> ").Append(e.InnerException!.ToString());
        }
        else
        {
            sb.AppendLine().Append(" ---> ").Append(e.RemoteExceptionType).Append(": ").Append(e.RemoteMessage);
            if (!string.IsNullOrWhiteSpace(e.RemoteStackTrace)) sb.AppendLine().Append(e.RemoteStackTrace.TrimEnd());
            // A rebuilt exception's own inner chain crossed as text inside its message; an
            // in-process one may carry a cause worth showing.
            if (e.InnerException?.InnerException is { } cause)
                sb.AppendLine().Append(" ---> (cause) ").Append(cause.GetType().FullName).Append(": ").Append(cause.Message);
        }
        sb.AppendLine().Append("   --- End of remote stack trace (task ").Append(e.TaskName).Append(", ").Append(e.TaskId).Append(") ---");
        var driver = StackFrames.UserStack(e);
        if (!string.IsNullOrWhiteSpace(driver)) sb.AppendLine().Append(driver.TrimEnd());
        return sb.ToString();
    }
}
