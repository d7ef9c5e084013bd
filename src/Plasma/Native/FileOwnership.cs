using System.Runtime.InteropServices;

namespace Ray.Plasma.Native;

/// <summary>
/// Who owns a path and its mode, by statx (links described themselves unless followed): the one
/// low-level check behind the store's private spill directory and Core's session-file trust
/// (<c>SessionOwnership</c>), which cannot live in Core because Plasma is below it.
/// </summary>
internal static unsafe partial class FileOwnership
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxTypeModeUid = 0x1 | 0x2 | 0x8; // STATX_TYPE | STATX_MODE | STATX_UID
    private const int StatxSize = 256;
    private const int StatxUidOffset = 20;
    private const int StatxModeOffset = 28;
    private const int ENOENT = 2;
    private const int ENOTDIR = 20;

    /// <summary>The file type bits of a mode.</summary>
    internal const int TypeMask = 0xF000;

    /// <summary>A symbolic link.</summary>
    internal const int TypeLink = 0xA000;

    /// <summary>A directory.</summary>
    internal const int TypeDirectory = 0x4000;

    /// <summary>A Unix socket.</summary>
    internal const int TypeSocket = 0xC000;

    /// <summary>The effective uid of this process.</summary>
    internal static uint CurrentUid => GetEuid();

    /// <summary>
    /// The owner and mode (type bits included) of <paramref name="path"/>; false when it does not
    /// exist. With <paramref name="followLinks"/> false a link itself is described.
    /// </summary>
    /// <exception cref="IOException">It exists but cannot be examined.</exception>
    internal static bool TryStat(string path, bool followLinks, out uint uid, out int mode)
    {
        var buffer = stackalloc byte[StatxSize];
        if (Statx(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, StatxTypeModeUid, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            uid = 0;
            mode = 0;
            if (errno is ENOENT or ENOTDIR) return false;
            throw new IOException($"cannot examine {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        uid = *(uint*)(buffer + StatxUidOffset);
        mode = *(ushort*)(buffer + StatxModeOffset);
        return true;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();
}
