using System.Runtime.InteropServices;
using System.Text;

namespace Ray.Native;

/// <summary>The C status codes (ray_status in ray_runtime.h). Stable numbers: never renumber.</summary>
internal enum Status
{
    Ok = 0,
    InvalidArgument = 1,
    InvalidHandle = 2,
    BufferTooSmall = 3,
    Timeout = 4,
    TaskFailed = 5,
    ObjectLost = 6,
    StoreFull = 7,
    NotFound = 8,
    AlreadyExists = 9,
    Unavailable = 10,
    Shutdown = 11,
    Cancelled = 12,
    Unsatisfiable = 13,
    VersionMismatch = 14,
    Internal = 15,
    Refused = 16,
}

/// <summary>An error raised by the C layer itself (bad input from C), with its status.</summary>
internal sealed class NativeException(Status status, string message) : Exception(message)
{
    internal Status Status { get; } = status;
}

/// <summary>
/// The calling thread's last error: a status and a NUL-terminated UTF-8 message in a native
/// buffer owned by the thread (grown as needed, reused, never freed while the thread lives).
/// </summary>
internal static unsafe class LastError
{
    [ThreadStatic] private static byte* t_buffer;
    [ThreadStatic] private static int t_capacity;
    [ThreadStatic] private static Status t_status;

    private static readonly byte* s_empty = (byte*)NativeMemory.AllocZeroed(1);
    private static readonly nint[] s_names = BuildNames();

    internal static Status Code => t_status;

    internal static byte* Message => t_buffer is null ? s_empty : t_buffer;

    /// <summary>Records the error and returns its status as the C return value.</summary>
    internal static int Set(Status status, string message)
    {
        t_status = status;
        var needed = Encoding.UTF8.GetMaxByteCount(message.Length) + 1;
        if (needed > t_capacity)
        {
            var capacity = Math.Max(256, needed);
            t_buffer = (byte*)NativeMemory.Realloc(t_buffer, (nuint)capacity);
            t_capacity = capacity;
        }
        var written = Encoding.UTF8.GetBytes(message, new Span<byte>(t_buffer, t_capacity - 1));
        t_buffer[written] = 0;
        return (int)status;
    }

    /// <summary>Maps any exception to a status and message; never throws.</summary>
    internal static int Fail(string function, Exception e)
    {
        try
        {
            var status = Classify(e);
            return Set(status, $"{function}: {e.Message}");
        }
        catch
        {
            t_status = Status.Internal;
            return (int)Status.Internal;
        }
    }

    internal static Status Classify(Exception e) => e switch
    {
        NativeException n => n.Status,
        RayClusterException c => c.WireCode switch
        {
            Ray.Contract.Messages.ClusterErrorCode.Unauthenticated => Status.Refused,
            Ray.Contract.Messages.ClusterErrorCode.VersionMismatch => Status.VersionMismatch,
            _ => Status.Unavailable,
        },
        RayException r => r.Code switch
        {
            RayErrorCode.TaskFailed or RayErrorCode.WorkerDied or RayErrorCode.ActorDied => Status.TaskFailed,
            RayErrorCode.ObjectLost or RayErrorCode.ObjectFreed => Status.ObjectLost,
            RayErrorCode.ObjectStoreFull => Status.StoreFull,
            RayErrorCode.GetTimeout => Status.Timeout,
            RayErrorCode.TaskCancelled => Status.Cancelled,
            RayErrorCode.ResourcesUnsatisfiable => Status.Unsatisfiable,
            RayErrorCode.RuntimeShutdown => Status.Shutdown,
            RayErrorCode.InvalidArgument or RayErrorCode.Serialization => Status.InvalidArgument,
            RayErrorCode.ActorNotFound => Status.NotFound,
            _ => Status.Internal,
        },
        ObjectDisposedException => Status.InvalidHandle,
        ArgumentException => Status.InvalidArgument,
        _ => Status.Internal,
    };

    /// <summary>A static NUL-terminated name for each status ("RAY_OK", ...); never freed.</summary>
    internal static byte* Name(int status) =>
        (byte*)(status >= 0 && status < s_names.Length - 1 ? s_names[status] : s_names[^1]);

    private static nint[] BuildNames()
    {
        string[] names =
        [
            "RAY_OK", "RAY_ERR_INVALID_ARGUMENT", "RAY_ERR_INVALID_HANDLE", "RAY_ERR_BUFFER_TOO_SMALL",
            "RAY_ERR_TIMEOUT", "RAY_ERR_TASK_FAILED", "RAY_ERR_OBJECT_LOST", "RAY_ERR_STORE_FULL",
            "RAY_ERR_NOT_FOUND", "RAY_ERR_ALREADY_EXISTS", "RAY_ERR_UNAVAILABLE", "RAY_ERR_SHUTDOWN",
            "RAY_ERR_CANCELLED", "RAY_ERR_UNSATISFIABLE", "RAY_ERR_VERSION_MISMATCH", "RAY_ERR_INTERNAL",
            "RAY_ERR_REFUSED",
            "RAY_ERR_UNKNOWN_STATUS",
        ];
        var result = new nint[names.Length];
        for (var i = 0; i < names.Length; i++) result[i] = (nint)Utf8.Copy(names[i]);
        return result;
    }
}

/// <summary>UTF-8 helpers for strings crossing the boundary.</summary>
internal static unsafe class Utf8
{
    /// <summary>A NUL-terminated copy in native memory that is never freed (static strings only).</summary>
    internal static byte* Copy(string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        var p = (byte*)NativeMemory.Alloc((nuint)bytes.Length + 1);
        bytes.CopyTo(new Span<byte>(p, bytes.Length));
        p[bytes.Length] = 0;
        return p;
    }

    /// <summary>Reads a NUL-terminated UTF-8 string; throws InvalidArgument naming the parameter when null.</summary>
    internal static string Read(byte* s, string parameter)
    {
        if (s is null) throw new NativeException(Status.InvalidArgument, $"{parameter} is NULL");
        var span = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(s);
        return Encoding.UTF8.GetString(span);
    }

    internal static string? ReadOptional(byte* s) =>
        s is null ? null : Encoding.UTF8.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(s));
}
