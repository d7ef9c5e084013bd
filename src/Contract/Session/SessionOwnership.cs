using System.Globalization;
using Ray.Plasma.Native;

namespace Ray.Contract.Session;

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
internal static class SessionOwnership
{
    /// <summary>The file type bits of a mode.</summary>
    internal const int TypeMask = FileOwnership.TypeMask;

    /// <summary>A symbolic link.</summary>
    internal const int TypeLink = FileOwnership.TypeLink;

    /// <summary>A directory.</summary>
    internal const int TypeDirectory = FileOwnership.TypeDirectory;

    /// <summary>A Unix socket.</summary>
    internal const int TypeSocket = FileOwnership.TypeSocket;

    /// <summary>The effective uid of this process.</summary>
    internal static uint CurrentUid => FileOwnership.CurrentUid;

    /// <summary>
    /// The owner and mode (type bits included) of <paramref name="path"/>; false when it does not
    /// exist. With <paramref name="followLinks"/> false a link itself is described.
    /// </summary>
    /// <exception cref="IOException">It exists but cannot be examined.</exception>
    internal static bool TryStat(string path, bool followLinks, out uint uid, out int mode) =>
        FileOwnership.TryStat(path, followLinks, out uid, out mode);

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
    /// <exception cref="SessionAccessException">Owned by another user, or writable by others.</exception>
    internal static bool CheckTrusted(string path, string what)
    {
        bool exists;
        uint uid;
        int mode;
        try { exists = TryStat(path, followLinks: false, out uid, out mode); }
        catch (IOException e) { throw new SessionAccessException($"refusing to use {what} {path}: {e.Message}", e); }
        if (!exists) return false;
        var me = CurrentUid;
        if (uid != me) throw ForeignOwner(what, path, (mode & TypeMask) == TypeLink ? "it is a link owned" : "it is owned", uid, me);
        if ((mode & TypeMask) == TypeLink)
        {
            try { exists = TryStat(path, followLinks: true, out uid, out mode); }
            catch (IOException e) { throw new SessionAccessException($"refusing to use {what} {path}: {e.Message}", e); }
            if (!exists) return false; // a dangling link: nothing behind it to trust or use
            var target = ResolveLink(path);
            if (uid != me) throw ForeignOwner(what, path, $"it leads to {target}, owned", uid, me);
        }
        if ((mode & 0x12) != 0) // S_IWGRP | S_IWOTH
            throw new SessionAccessException(string.Create(CultureInfo.InvariantCulture,
                $"refusing to use {what} {path}: its mode {Convert.ToString(mode & 0xFFF, 8)} lets other users write to it; remove their write permission (chmod go-w {path}) or use a folder of your own (set TMPDIR, or pass --session-dir)."));
        return true;
    }

    /// <summary>
    /// Makes sure the session root exists (created private, mode 0700, when missing) and may be
    /// trusted (<see cref="CheckTrusted"/>); returns it.
    /// </summary>
    /// <exception cref="SessionAccessException">It belongs to another user or is writable by others.</exception>
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

    private static SessionAccessException ForeignOwner(string what, string path, string how, uint uid, uint me) =>
        new(string.Create(CultureInfo.InvariantCulture,
            $"refusing to use {what} {path}: {how} by uid {uid}, not by this user (uid {me}); another user's session files are never followed. Remove it, or use a folder of your own (set TMPDIR, or pass --session-dir / an address)."));

    private static string ResolveLink(string path)
    {
        try { return new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path; }
        catch (IOException) { return path; }
    }
}
