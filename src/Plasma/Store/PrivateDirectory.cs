namespace Ray.Plasma.Store;

/// <summary>A directory only this user may enter: where the store writes spilled objects (their bytes are users' data).</summary>
internal static class PrivateDirectory
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode Others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// Creates <paramref name="path"/> with mode 0700 (true), or checks that the existing one is
    /// closed to group and others (false); refuses one that is not, rather than changing the mode
    /// of a directory someone else chose.
    /// </summary>
    /// <exception cref="IOException">It exists and group or others may use it.</exception>
    internal static bool Ensure(string path, string what)
    {
        if (OperatingSystem.IsWindows()) // no Unix modes there
        {
            var existed = Directory.Exists(path);
            Directory.CreateDirectory(path);
            return !existed;
        }
        if (!Directory.Exists(path))
        {
            Directory.CreateDirectory(path, OwnerOnly);
            return true;
        }
        var mode = File.GetUnixFileMode(path);
        if ((mode & Others) != 0)
            throw new IOException($"The {what} {path} is open to other users (mode {Convert.ToString((int)mode & 0xFFF, 8)}); " +
                "spilled objects are private: give a directory only this user can use (chmod 700) or one that does not exist yet.");
        return false;
    }
}
