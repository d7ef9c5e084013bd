using Ray.Plasma.Native;

namespace Ray.Plasma.Store;

/// <summary>A directory only this user may enter: where the store writes spilled objects (their bytes are users' data).</summary>
internal static class PrivateDirectory
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const int GroupOrOthers = 0x3F; // 077

    /// <summary>
    /// Creates <paramref name="path"/> with mode 0700 (true), or takes the existing one (false):
    /// a real directory of this user, made private (chmod 0700) when group or others could use
    /// it. Refuses a link, or a directory of another user.
    /// </summary>
    /// <exception cref="IOException">It is a link, not a directory, or another user's.</exception>
    internal static bool Ensure(string path, string what)
    {
        if (OperatingSystem.IsWindows()) // no Unix modes there
        {
            var existed = Directory.Exists(path);
            Directory.CreateDirectory(path);
            return !existed;
        }
        var created = false;
        if (!FileOwnership.TryStat(path, followLinks: false, out var uid, out var mode))
        {
            Directory.CreateDirectory(path, OwnerOnly);
            created = true;
            if (!FileOwnership.TryStat(path, followLinks: false, out uid, out mode))
                throw new IOException($"The {what} {path} vanished as it was created.");
        }
        var type = mode & FileOwnership.TypeMask;
        if (type == FileOwnership.TypeLink)
            throw new IOException($"The {what} {path} is a symbolic link; spilled objects are private: give a real directory of this user, or one that does not exist yet.");
        if (type != FileOwnership.TypeDirectory)
            throw new IOException($"The {what} {path} is not a directory.");
        var me = FileOwnership.CurrentUid;
        if (uid != me)
            throw new IOException($"The {what} {path} is owned by uid {uid}, not by this user (uid {me}); spilled objects are private: give a directory of this user, or one that does not exist yet.");
        if ((mode & GroupOrOthers) != 0) File.SetUnixFileMode(path, OwnerOnly); // ours: made private, not refused
        return created;
    }
}
