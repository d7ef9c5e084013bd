using System.Collections.Concurrent;
using System.IO.Compression;
using System.Security.Cryptography;
using Ray.Protocol;

namespace Ray.RuntimeEnvs;

/// <summary>
/// A runtime environment made ready to send to worker processes (docs/PROTOCOL.md,
/// DefineRuntimeEnv): its variables, and its working directory packed as a zip and named by a
/// hash of its contents (relative paths and bytes, so an unchanged folder has the same name on
/// every run and a node unpacks it once). One per distinct environment per process, with a wire
/// index like a function's; defined on each worker connection before its first use.
/// </summary>
internal sealed class PreparedRuntimeEnv
{
    // Prepared environments by variables + directory + the directory's stamp, and packed
    // directories by path (re-packed when the stamp changes): a per-task variable does not pack
    // the directory again, and an edited directory is packed afresh. Bounded: cleared past a size.
    private static readonly ConcurrentDictionary<string, PreparedRuntimeEnv> s_byKey = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, (string Stamp, string Hash, byte[] Package)> s_packages = new(StringComparer.Ordinal);
    private const int MaxCached = 4096;
    private static int s_nextIndex;

    private PreparedRuntimeEnv(KeyValuePair<string, string>[] vars, string hash, byte[]? package)
    {
        WireIndex = (uint)Interlocked.Increment(ref s_nextIndex);
        Vars = vars;
        Hash = hash;
        Package = package;
    }

    /// <summary>The index tasks name it by on a connection (never 0).</summary>
    internal uint WireIndex { get; }

    /// <summary>The variables, sorted by name.</summary>
    internal KeyValuePair<string, string>[] Vars { get; }

    /// <summary>The working directory's content hash (hex), empty when there is none.</summary>
    internal string Hash { get; }

    /// <summary>The working directory as a zip, null when there is none.</summary>
    internal byte[]? Package { get; }

    /// <summary>The prepared form of <paramref name="env"/> (validated before), made once per distinct environment and directory contents.</summary>
    /// <exception cref="ArgumentException">The working directory holds more than <see cref="RuntimeEnv.MaxWorkingDirBytes"/>.</exception>
    internal static PreparedRuntimeEnv For(RuntimeEnv env)
    {
        var vars = (env.EnvVars ?? new Dictionary<string, string>()).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
        var dir = env.WorkingDir is { } d ? Path.GetFullPath(d) : "";
        var files = dir.Length == 0 ? [] : List(dir);
        var stamp = Stamp(files);
        var key = string.Join('\0', vars.Select(kv => kv.Key + "=" + kv.Value)) + "\0\0" + dir + "\0" + stamp;
        if (s_byKey.TryGetValue(key, out var known)) return known;
        var (hash, package) = dir.Length == 0 ? ("", null) : Packed(dir, files, stamp);
        if (s_byKey.Count >= MaxCached) s_byKey.Clear(); // connections define environments again under new indices
        return s_byKey.GetOrAdd(key, _ => new PreparedRuntimeEnv(vars, hash, package));
    }

    private static (string Hash, byte[] Package) Packed(string dir, FileInfo[] files, string stamp)
    {
        if (s_packages.TryGetValue(dir, out var p) && p.Stamp == stamp) return (p.Hash, p.Package);
        var (hash, package) = Pack(dir, files);
        if (s_packages.Count >= MaxCached) s_packages.Clear();
        s_packages[dir] = (stamp, hash, package);
        return (hash, package);
    }

    private static FileInfo[] List(string dir)
    {
        var files = new DirectoryInfo(dir).EnumerateFiles("*", SearchOption.AllDirectories)
            .OrderBy(f => Path.GetRelativePath(dir, f.FullName), StringComparer.Ordinal).ToArray();
        var total = files.Sum(f => f.Length); // refused before anything is read
        if (total > RuntimeEnv.MaxWorkingDirBytes)
            throw new ArgumentException($"the runtime environment's WorkingDir '{dir}' holds {total >> 20} MiB, more than {RuntimeEnv.MaxWorkingDirBytes >> 20} MiB: ship large data through the object store or shared storage instead");
        return files;
    }

    // What changes when the directory's files do: names, sizes and write times.
    private static string Stamp(FileInfo[] files)
    {
        var h = new HashCode();
        foreach (var f in files)
        {
            h.Add(f.FullName, StringComparer.Ordinal);
            h.Add(f.Length);
            h.Add(f.LastWriteTimeUtc.Ticks);
        }
        return files.Length + ":" + h.ToHashCode().ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
    }

    // Files in a stable order; the hash covers each relative path, length and contents.
    private static (string Hash, byte[] Package) Pack(string dir, FileInfo[] files)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var zipped = new MemoryStream();
        using (var zip = new ZipArchive(zipped, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var file in files)
            {
                var relative = Path.GetRelativePath(dir, file.FullName).Replace('\\', '/');
                var bytes = File.ReadAllBytes(file.FullName);
                sha.AppendData(System.Text.Encoding.UTF8.GetBytes(relative + "\0" + bytes.Length + "\0"));
                sha.AppendData(bytes);
                var entry = zip.CreateEntry(relative, CompressionLevel.Fastest);
                using var s = entry.Open();
                s.Write(bytes);
            }
        }
        return (Convert.ToHexStringLower(sha.GetHashAndReset())[..32], zipped.ToArray());
    }

    /// <summary>DefineRuntimeEnv's payload: <c>u32 index | u16 n | (string name | string value)* | string hash | bytes package</c>.</summary>
    internal void WriteDefinition(PayloadWriter w)
    {
        w.U32(WireIndex);
        w.U16((ushort)Vars.Length);
        foreach (var (k, v) in Vars)
        {
            w.Utf8(k);
            w.Utf8(v);
        }
        w.Utf8(Hash);
        w.Bytes(Package ?? []);
    }
}
