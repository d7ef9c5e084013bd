using System.Runtime.InteropServices;

namespace Ray.Plasma.Native;

/// <summary>The few libc calls the arena needs that .NET does not expose (MAP_POPULATE above all).</summary>
internal static unsafe partial class Libc
{
    internal const int O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80;
    internal const int PROT_READ = 1, PROT_WRITE = 2;
    internal const int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_POPULATE = 0x8000;
    internal static readonly nint MAP_FAILED = -1;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    internal static partial int Ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    internal static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    internal static partial int Munmap(nint addr, nuint length);

    internal const int MADV_POPULATE_WRITE = 23; // Linux 5.14+: fault pages in writable without touching their bytes

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    internal static partial int Madvise(nint addr, nuint length, int advice);

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Unlink(string path);

    internal static string LastError() => Marshal.GetLastPInvokeErrorMessage();
}
