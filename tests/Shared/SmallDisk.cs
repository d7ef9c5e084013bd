using System.Diagnostics;

namespace Ray.Tests.Shared;

/// <summary>
/// A real, small filesystem for tests of a full disk: a tmpfs of a given size mounted on a fresh
/// directory (mode 0700), unmounted and removed on dispose. Mounting needs root (CAP_SYS_ADMIN),
/// which CI has; elsewhere <see cref="Unavailable"/> says why and the tests skip.
/// </summary>
internal sealed class SmallDisk : IDisposable
{
    private SmallDisk(string path) => Path = path;

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>Null when a tmpfs can be mounted here; else why not (the skip reason).</summary>
    public static string? Unavailable { get; } = Probe();

    /// <summary>Mounts a tmpfs of <paramref name="bytes"/> bytes (rounded up to pages by the kernel).</summary>
    public static SmallDisk Mount(long bytes) =>
        MountAt(System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ray-small-disk-" + Guid.NewGuid().ToString("N")[..10]), bytes);

    /// <summary>Mounts a tmpfs of <paramref name="bytes"/> bytes on <paramref name="dir"/> (made, with its parents, if missing).</summary>
    public static SmallDisk MountAt(string dir, long bytes)
    {
        Directory.CreateDirectory(dir);
        var (code, output) = Run("mount", $"-t tmpfs -o size={bytes},mode=0700 tmpfs {dir}");
        if (code != 0)
        {
            Directory.Delete(dir);
            throw new InvalidOperationException($"mount of a {bytes}-byte tmpfs on {dir} failed ({code}): {output}");
        }
        return new SmallDisk(dir);
    }

    public void Dispose()
    {
        Run("umount", "-l " + Path); // lazy: a file still open somewhere does not keep the mount
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux()) return "a tmpfs mount needs Linux";
        try
        {
            using var disk = Mount(64 << 10);
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
        {
            return "a small disk cannot be made here (mounting a tmpfs needs root): " + e.Message;
        }
    }

    private static (int Code, string Output) Run(string file, string args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"{file} did not start");
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(10_000))
        {
            try { p.Kill(); } catch (InvalidOperationException) { }
            return (-1, $"{file} {args} timed out");
        }
        return (p.ExitCode, output.Result + error.Result);
    }
}

/// <summary>A fact that needs <see cref="SmallDisk"/>: skipped, with the reason, where a tmpfs cannot be mounted.</summary>
internal sealed class SmallDiskFactAttribute : Xunit.FactAttribute
{
    public SmallDiskFactAttribute()
    {
        if (SmallDisk.Unavailable is { } why) Skip = why;
    }
}
