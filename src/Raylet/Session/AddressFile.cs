using System.Globalization;
using System.Text.Json;
using Ray.Contract.Session;

namespace Ray.Raylet.Session;

/// <summary>Reads and writes the address file. It holds the cluster token, so it is created with mode 0600.</summary>
public static class AddressFile
{
    /// <summary>Writes <paramref name="info"/> to <paramref name="path"/> atomically (a temp file, then a rename).</summary>
    public static void Write(string path, RayletAddressInfo info)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(info, AddressFileJsonContext.Default.RayletAddressInfo);
        var temp = path + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temp, options))
        {
            stream.Write(bytes);
            stream.WriteByte((byte)'\n');
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The file's contents, or null when it does not exist.</summary>
    /// <exception cref="InvalidDataException">The file exists but is not a valid address file.</exception>
    public static RayletAddressInfo? TryRead(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
        try
        {
            return JsonSerializer.Deserialize(bytes, AddressFileJsonContext.Default.RayletAddressInfo)
                ?? throw new InvalidDataException($"the address file {path} is empty");
        }
        catch (JsonException e) { throw new InvalidDataException($"the address file {path} is not valid: {e.Message}", e); }
    }

    /// <summary>
    /// <see cref="TryRead"/> after checking that the file and its session directory belong to this
    /// user and are not writable by others: what the CLI reads before it connects with the file's
    /// token or deletes the files it names.
    /// </summary>
    /// <exception cref="SessionAccessException">The file or its directory belongs to another user, or others may write to it.</exception>
    /// <exception cref="InvalidDataException">The file exists but is not a valid address file.</exception>
    public static RayletAddressInfo? TryReadTrusted(string path)
    {
        var full = Path.GetFullPath(path);
        if (Path.GetDirectoryName(full) is { } dir) SessionOwnership.CheckTrusted(dir, "the session directory");
        SessionOwnership.CheckTrusted(full, "the address file");
        return TryRead(full);
    }

    /// <summary>Deletes the file if it exists.</summary>
    public static void Delete(string path)
    {
        try { File.Delete(path); }
        catch (DirectoryNotFoundException) { }
    }
}
