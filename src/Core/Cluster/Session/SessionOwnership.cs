using System.Globalization;
using System.Runtime.InteropServices;

namespace Ray.Cluster.Session;

/// <summary>
/// The one check, shared by the `ray` CLI and drivers, that a session file may be trusted before
/// it is used: the session root, the latest-session link, a session directory and its address
/// file must belong to the current user and must not be writable by group or others
/// (<c>mode &amp; 022 == 0</c>). An address file holds the cluster token and names the address a
/// driver sends it to and the files `ray stop` deletes, so one planted by another user would hand
/// them the token or make us delete their choice of file. Links are checked themselves (their
/// owner) and where they lead (owner and mode). Off the per-task path: run once per connect or
/// CLI command.
/// </summary>
internal static partial class SessionOwnership
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
    internal static unsafe bool TryStat(string path, bool followLinks, out uint uid, out int mode)
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

    /// <summary>True when <paramref name="path"/> exists (not following a link) and belongs to the current user.</summary>
    internal static bool IsOwnedByCurrentUser(string path)
    {
        try { return TryStat(path, followLinks: false, out var uid, out _) && uid == CurrentUid; }
        catch (IOException) { return false; }
    }

    /// <summary>
    /// Throws when <paramref name="path"/> exists and may not be trusted: it (or, for a link,
    /// the link or its target) belongs to another user, or it is writable by group or others.
    /// Returns false when it does not exist.
    /// </summary>
    /// <param name="path">The file, directory or link.</param>
    /// <param name="what">What it is, for the message ("the session root", "the address file").</param>
    /// <exception cref="RayClusterException">Owned by another user, or writable by others.</exception>
    internal static bool CheckTrusted(string path, string what)
    {
        bool exists;
        uint uid;
        int mode;
        try { exists = TryStat(path, followLinks: false, out uid, out mode); }
        catch (IOException e) { throw new RayClusterException($"refusing to use {what} {path}: {e.Message}", e); }
        if (!exists) return false;
        var me = CurrentUid;
        if (uid != me) throw ForeignOwner(what, path, (mode & TypeMask) == TypeLink ? "it is a link owned" : "it is owned", uid, me);
        if ((mode & TypeMask) == TypeLink)
        {
            try { exists = TryStat(path, followLinks: true, out uid, out mode); }
            catch (IOException e) { throw new RayClusterException($"refusing to use {what} {path}: {e.Message}", e); }
            if (!exists) return false; // a dangling link: nothing behind it to trust or use
            var target = ResolveLink(path);
            if (uid != me) throw ForeignOwner(what, path, $"it leads to {target}, owned", uid, me);
        }
        if ((mode & 0x12) != 0) // S_IWGRP | S_IWOTH
            throw new RayClusterException(string.Create(CultureInfo.InvariantCulture,
                $"refusing to use {what} {path}: its mode {Convert.ToString(mode & 0xFFF, 8)} lets other users write to it; remove their write permission (chmod go-w {path}) or use a folder of your own (set TMPDIR, or pass --session-dir)."));
        return true;
    }

    /// <summary>
    /// Makes sure the session root exists (created private, mode 0700, when missing) and may be
    /// trusted (<see cref="CheckTrusted"/>); returns it.
    /// </summary>
    /// <exception cref="RayClusterException">It belongs to another user or is writable by others.</exception>
    /// <exception cref="IOException">It cannot be created.</exception>
    internal static string EnsureRoot(string root)
    {
        if (!CheckTrusted(root, "the session root"))
        {
            CreatePrivateDirectory(root);
            CheckTrusted(root, "the session root"); // another user may have won the race to create it
        }
        return root;
    }

    /// <summary>Creates <paramref name="path"/> (and missing parents) with mode 0700 when it does not exist.</summary>
    internal static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static RayClusterException ForeignOwner(string what, string path, string how, uint uid, uint me) =>
        new(string.Create(CultureInfo.InvariantCulture,
            $"refusing to use {what} {path}: {how} by uid {uid}, not by this user (uid {me}); another user's session files are never followed. Remove it, or use a folder of your own (set TMPDIR, or pass --session-dir / an address)."));

    private static string ResolveLink(string path)
    {
        try { return new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path; }
        catch (IOException) { return path; }
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();
}
