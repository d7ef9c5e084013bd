using System.IO.Compression;
using Ray.Cluster.Wire;
using Ray.Protocol;

namespace Ray.RuntimeEnvs;

/// <summary>
/// A worker process's runtime environments: what its drivers defined (each connection keeps its
/// own index table, since every submitting process numbers its own), each working directory
/// unpacked once per node under
/// <c>&lt;session&gt;/runtime_resources/working_dir/&lt;hash&gt;</c>, and the one in force. Tasks run
/// one at a time on a worker's session thread, so the environment is switched between tasks:
/// a task with another environment (or none) first undoes the one in force (variables back to
/// what they were, the previous current directory) and then sets its own. An actor's is set at
/// creation and stays for the worker's life.
/// </summary>
internal sealed class WorkerRuntimeEnvs(string sessionDir)
{
    private readonly object _lock = new();
    private static Defined? s_current; // one worker process, one environment in force

    /// <summary>The environment in force in this worker process: what tasks submitted from here inherit, as in Ray. Null outside workers or when none is in force.</summary>
    internal static Defined? InForce => Volatile.Read(ref s_current);
    private Saved? _saved;

    /// <summary>One defined environment: its variables and its unpacked working directory (null: none).</summary>
    internal sealed record Defined(KeyValuePair<string, string>[] Vars, string? Directory, string? Error = null)
    {
        /// <summary>As a <see cref="RuntimeEnv"/>: its working directory is the unpacked copy, which packs to the same hash.</summary>
        internal RuntimeEnv AsRuntimeEnv { get; } = new()
        {
            EnvVars = Vars.Length == 0 ? null : Vars.ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal),
            WorkingDir = Directory,
        };

        /// <summary>Prepared for tasks submitted from here that set no environment of their own (made on first use).</summary>
        internal PreparedRuntimeEnv Prepared => _prepared ??= PreparedRuntimeEnv.For(AsRuntimeEnv);
        private PreparedRuntimeEnv? _prepared;
    }

    private sealed record Saved(KeyValuePair<string, string?>[] Vars, string CurrentDirectory);

    /// <summary>Reads a DefineRuntimeEnv payload; unpacks its working directory if this node has not yet.</summary>
    /// <exception cref="ProtocolException">A malformed definition or package.</exception>
    internal (uint Index, Defined Env) Define(ReadOnlySpan<byte> p)
    {
        var off = 0;
        var index = (uint)ValueWire.ReadI32(p, ref off);
        int n = ValueWire.ReadU16(p, ref off);
        var vars = new KeyValuePair<string, string>[n];
        for (var i = 0; i < n; i++)
        {
            var name = ValueWire.ReadUtf8(p, ref off);
            if (name.Length == 0 || name.Contains('=') || name.Contains('\0')) throw new ProtocolException($"a runtime environment variable named '{name}'");
            vars[i] = new(name, ValueWire.ReadUtf8(p, ref off));
        }
        var hash = ValueWire.ReadUtf8(p, ref off);
        var length = ValueWire.ReadI32(p, ref off);
        if (length < 0 || length > p.Length - off) throw new ProtocolException($"a runtime environment package of {length} bytes; {p.Length - off} are left");
        var package = p.Slice(off, length);
        off += length;
        if (off != p.Length) throw new ProtocolException("DefineRuntimeEnv has trailing bytes");
        if (hash.Length != 0 && (hash.Length > 64 || !hash.All(char.IsAsciiHexDigitLower))) throw new ProtocolException($"a working directory hash '{hash}'");
        if (index == 0) throw new ProtocolException("runtime environment index 0 is reserved for none");
        if (hash.Length == 0) return (index, new Defined(vars, null));
        try { return (index, new Defined(vars, Unpack(hash, package))); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            // Tasks naming it fail with the reason; the connection and the worker go on.
            return (index, new Defined(vars, null, $"the runtime environment's working directory could not be unpacked on this node: {e.Message}"));
        }
    }

    // Unpacked into a fresh folder, then renamed into place: a concurrent worker unpacking the
    // same hash loses the rename and uses the winner's copy.
    private string Unpack(string hash, ReadOnlySpan<byte> package)
    {
        var root = Path.Combine(sessionDir, "runtime_resources", "working_dir");
        var target = Path.Combine(root, hash);
        if (Directory.Exists(target)) return target;
        Directory.CreateDirectory(root);
        var staging = Path.Combine(root, $".{hash}.{Environment.ProcessId}.{Guid.NewGuid():N}");
        try
        {
            using (var zip = new ZipArchive(new MemoryStream(package.ToArray()), ZipArchiveMode.Read))
                zip.ExtractToDirectory(staging); // refuses entries that would land outside it
            try { Directory.Move(staging, target); }
            catch (IOException) when (Directory.Exists(target)) { /* another worker was first */ }
        }
        catch (InvalidDataException e) { throw new InvalidDataException($"the working directory package is not a valid zip: {e.Message}", e); }
        finally { if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true); }
        return target;
    }

    /// <summary>Puts <paramref name="next"/> (null: none) in force for the next task.</summary>
    internal void Switch(Defined? next)
    {
        if (ReferenceEquals(next, s_current)) return;
        lock (_lock) SwitchLocked(next);
    }

    private void SwitchLocked(Defined? next)
    {
        if (ReferenceEquals(next, s_current)) return;
        Undo();
        if (next is null) return;
        string cwd;
        try { cwd = Environment.CurrentDirectory; }
        catch (IOException) { cwd = AppContext.BaseDirectory; } // the old directory was deleted
        _saved = new Saved(next.Vars.Select(v => new KeyValuePair<string, string?>(v.Key, Environment.GetEnvironmentVariable(v.Key))).ToArray(), cwd);
        foreach (var (k, v) in next.Vars) Environment.SetEnvironmentVariable(k, v);
        if (next.Directory is { } dir) Environment.CurrentDirectory = dir;
        Volatile.Write(ref s_current, next);
    }

    private void Undo()
    {
        if (_saved is { } saved)
        {
            foreach (var (k, v) in saved.Vars) Environment.SetEnvironmentVariable(k, v);
            try { Environment.CurrentDirectory = saved.CurrentDirectory; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* the old directory is gone: stay where we are */ }
        }
        _saved = null;
        Volatile.Write(ref s_current, null);
    }
}
