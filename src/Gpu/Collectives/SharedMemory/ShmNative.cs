using System.Runtime.InteropServices;

namespace Ray.Gpu.Collectives.SharedMemory;

/// <summary>
/// The libc calls the shared-memory transport needs beyond Plasma's (<see cref="Ray.Plasma.Native.Libc"/>:
/// open, mmap with MAP_POPULATE, unlink...): rename for an atomic publish of the segment, the
/// futex syscall (a cross-process wait on a word of the mapping), and kill(pid, 0).
/// </summary>
internal static unsafe partial class ShmNative
{
    internal const int ENOENT = 2, ESRCH = 3, EAGAIN = 11, ETIMEDOUT = 110;
    private const int FutexWait = 0, FutexWake = 1; // not FUTEX_PRIVATE: the word is shared across processes

    private static readonly long FutexSyscall = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 202,
        Architecture.Arm64 => 98,
        _ => -1,
    };

    /// <summary>True where futex is available (Linux x64/arm64); elsewhere waits poll with short sleeps.</summary>
    internal static bool HasFutex { get; } = OperatingSystem.IsLinux() && FutexSyscall > 0;

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Rename(string from, string to);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall6(long number, int* address, int operation, int value, Timespec* timeout, nint address2, int value3);

    /// <summary>Sleeps while <c>*word == expected</c>, at most <paramref name="timeoutNanoseconds"/>.</summary>
    internal static void FutexWaitWord(int* word, int expected, long timeoutNanoseconds)
    {
        if (!HasFutex)
        {
            Thread.Sleep(1);
            return;
        }

        var timeout = new Timespec { Seconds = timeoutNanoseconds / 1_000_000_000, Nanoseconds = timeoutNanoseconds % 1_000_000_000 };
        Syscall6(FutexSyscall, word, FutexWait, expected, &timeout, 0, 0);
    }

    /// <summary>Wakes every process sleeping on <paramref name="word"/>.</summary>
    internal static void FutexWakeAll(int* word)
    {
        if (HasFutex)
        {
            Syscall6(FutexSyscall, word, FutexWake, int.MaxValue, null, 0, 0);
        }
    }


    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
