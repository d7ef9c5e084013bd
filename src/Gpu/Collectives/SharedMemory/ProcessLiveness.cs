using System.Globalization;

namespace Ray.Gpu.Collectives.SharedMemory;

/// <summary>
/// Is a rank's process still there? A rank records its pid and its start time (field 22 of
/// /proc/pid/stat) when it joins; a peer is dead when the pid is gone, is a zombie (killed but not
/// yet reaped by its parent), or now belongs to a different process (same pid, other start time).
/// Only called on the slow path (a parked wait), a few times a second at most.
/// </summary>
internal static class ProcessLiveness
{
    /// <summary>The start time of this process, as peers will read it from /proc.</summary>
    public static long SelfStartTime { get; } = ReadStartTime(Environment.ProcessId) ?? 0;

    public static bool IsAlive(int pid, long startTime)
    {
        if (pid <= 0)
        {
            return false;
        }

        if (!OperatingSystem.IsLinux())
        {
            return ShmNative.Kill(pid, 0) == 0 || System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != ShmNative.ESRCH;
        }

        string? stat = ReadStat(pid);
        if (stat is null)
        {
            return false;
        }

        // Fields after the command (which may contain spaces and parentheses) start after the last ')'.
        int close = stat.LastIndexOf(')');
        if (close < 0 || close + 2 >= stat.Length)
        {
            return false;
        }

        string[] fields = stat[(close + 2)..].Split(' ');
        char state = fields[0].Length > 0 ? fields[0][0] : '?';
        if (state is 'Z' or 'X' or 'x')
        {
            return false;
        }

        return startTime == 0 || (fields.Length > 19 && long.TryParse(fields[19], NumberStyles.Integer, CultureInfo.InvariantCulture, out long st) && st == startTime);
    }

    private static long? ReadStartTime(int pid)
    {
        string? stat = OperatingSystem.IsLinux() ? ReadStat(pid) : null;
        int close = stat?.LastIndexOf(')') ?? -1;
        if (stat is null || close < 0)
        {
            return null;
        }

        string[] fields = stat[(close + 2)..].Split(' ');
        return fields.Length > 19 && long.TryParse(fields[19], NumberStyles.Integer, CultureInfo.InvariantCulture, out long st) ? st : null;
    }

    private static string? ReadStat(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
