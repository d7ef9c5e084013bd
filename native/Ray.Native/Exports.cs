using System.Runtime.InteropServices;
using Ray.Objects;

namespace Ray.Native;

/// <summary>
/// ray_options, read only as far as the caller's struct_size says: the first layout of ABI 1
/// ended before <see cref="ClusterToken"/> (<see cref="Exports.OptionsSizeV1"/> bytes).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeOptions
{
    internal uint StructSize;
    internal uint AbiVersion;
    internal double NumCpus;
    internal int NumWorkers;
    internal int Prefault;
    internal long ObjectStoreBytes;
    internal long LargeObjectThresholdBytes;
    internal byte* ObjectStoreDirectory;
    internal byte* SpillDirectory;
    internal byte* ClusterToken; // added in ABI 1 after the first release; absent when struct_size is OptionsSizeV1
}

/// <summary>ray_view: what ray_get fills in.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeViewInfo
{
    internal ulong Handle;
    internal byte* Data;
    internal ulong Size;
    internal int IsShared;
    internal int Reserved;
}

/// <summary>
/// The exported C functions of libray_runtime.so (see native/include/ray_runtime.h for the
/// contract). Every export catches everything: an exception never crosses into C; it becomes a
/// status code and the thread's last error message. Out-parameters are cleared first, so a
/// failed call never leaves garbage behind.
/// </summary>
internal static unsafe partial class Exports
{
    internal const uint AbiVersion = 1;

    /// <summary>sizeof(ray_options) of the first ABI 1 header (no cluster_token): still accepted.</summary>
    internal const int OptionsSizeV1 = 56;

    private static readonly byte* s_version = Utf8.Copy($"ray_runtime 0.1.0 (abi {AbiVersion}, .NET {Environment.Version}, NativeAOT)");

    // ---- version and errors ----

    [UnmanagedCallersOnly(EntryPoint = "ray_abi_version")]
    private static uint RayAbiVersion() => AbiVersion;

    [UnmanagedCallersOnly(EntryPoint = "ray_version")]
    private static byte* RayVersion() => s_version;

    [UnmanagedCallersOnly(EntryPoint = "ray_last_error")]
    private static byte* RayLastError() => LastError.Message;

    [UnmanagedCallersOnly(EntryPoint = "ray_last_status")]
    private static int RayLastStatus() => (int)LastError.Code;

    [UnmanagedCallersOnly(EntryPoint = "ray_status_name")]
    private static byte* RayStatusName(int status) => LastError.Name(status);

    // ---- runtime ----

    [UnmanagedCallersOnly(EntryPoint = "ray_start")]
    private static int RayStart(NativeOptions* options, ulong* outRuntime)
    {
        try
        {
            if (outRuntime is null) throw Null("out_runtime");
            *outRuntime = 0;
            var runtime = RayRuntime.Start(ToRuntimeOptions(options, out _));
            var native = new NativeRuntime(runtime);
            try
            {
                native.Handle = Handles.Add(HandleKind.Runtime, native);
            }
            catch
            {
                runtime.Shutdown();
                throw;
            }
            *outRuntime = native.Handle;
            return 0;
        }
        catch (Exception e) { return LastError.Fail("ray_start", e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "ray_connect")]
    private static int RayConnect(byte* address, NativeOptions* options, ulong* outRuntime)
    {
        try
        {
            if (outRuntime is null) throw Null("out_runtime");
            *outRuntime = 0;
            var text = Utf8.Read(address, "address").Trim();
            if (text.Length == 0) throw new NativeException(Status.InvalidArgument, "address is empty; expected host:port of a raylet, a session directory or its raylet.json");
            var runtimeOptions = ToRuntimeOptions(options, out var token);
            CheckAddress(text);
            var runtime = Connect(text, token, runtimeOptions);
            var native = new NativeRuntime(runtime, runtimeOptions);
            try
            {
                native.Handle = Handles.Add(HandleKind.Runtime, native);
            }
            catch
            {
                native.Shutdown();
                throw;
            }
            *outRuntime = native.Handle;
            return 0;
        }
        catch (Exception e) { return LastError.Fail("ray_connect", e); }
    }

    /// <summary>
    /// "host:port", "auto", or an existing session directory / address file; anything else is bad
    /// input (refused here, before any name lookup or connection attempt).
    /// </summary>
    private static void CheckAddress(string address)
    {
        if (address == "auto" || File.Exists(address) || Directory.Exists(address)) return;
        if (IsHostPort(address)) return;
        if (address.Contains('/') || address.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            throw new NativeException(Status.Unavailable,
                $"no running cluster at '{address}': no such session directory or address file (start one with `ray start --head --session-dir DIR`)");
        throw new NativeException(Status.InvalidArgument,
            $"'{address}' is not a raylet address: expected host:port (e.g. 127.0.0.1:6379), a session directory or its raylet.json");
    }

    private static bool IsHostPort(string address)
    {
        var colon = address.LastIndexOf(':');
        return colon > 0 && int.TryParse(address.AsSpan(colon + 1), System.Globalization.NumberStyles.None, null, out var port) && port is > 0 and < 65536;
    }

    /// <summary>RayRuntime.Connect with the caller's token (null: RAY_CLUSTER_TOKEN, else the session's address file).</summary>
    private static RayRuntime Connect(string address, string? token, RuntimeOptions options)
    {
        try
        {
            return RayRuntime.Connect(address, options, token);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new NativeException(Status.Unavailable, $"cannot reach '{address}': {e.Message}");
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "ray_shutdown")]
    private static int RayShutdown(ulong runtime)
    {
        try
        {
            var entry = Handles.Remove(runtime, HandleKind.Runtime);
            ((NativeRuntime)entry.Target).Shutdown();
            return 0;
        }
        catch (Exception e) { return LastError.Fail("ray_shutdown", e); }
    }

    // ---- helpers ----

    internal static NativeRuntime GetRuntime(ulong handle)
    {
        var entry = Handles.Find(handle, HandleKind.Runtime);
        return (NativeRuntime)entry.Target;
    }

    private static NativeFunction FindFunction(NativeRuntime rt, byte* name)
    {
        var text = FunctionName(name);
        return rt.Find(text) ?? throw new NativeException(Status.NotFound,
            $"no function named '{text}' is registered (register it with ray_register_function first)");
    }

    private static string FunctionName(byte* name)
    {
        var text = Utf8.Read(name, "name");
        if (text.Length == 0) throw new NativeException(Status.InvalidArgument, "name is empty");
        return text;
    }

    private static ReadOnlySpan<byte> Bytes(byte* data, nuint size, string parameter)
    {
        if (size == 0) return default;
        if (data is null) throw Null(parameter, $" with size {size}");
        if (size > int.MaxValue)
            throw new NativeException(Status.InvalidArgument, $"{parameter} has {size} bytes; objects are limited to {int.MaxValue} bytes");
        return new ReadOnlySpan<byte>(data, (int)size);
    }

    private static TimeSpan Timeout(long ms) => ms < 0 ? System.Threading.Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(ms);

    private static NativeException Null(string parameter, string detail = "") =>
        new(Status.InvalidArgument, $"{parameter} is NULL{detail}");

    private static RuntimeOptions ToRuntimeOptions(NativeOptions* options, out string? clusterToken)
    {
        clusterToken = null;
        if (options is null) return new RuntimeOptions();
        var size = options->StructSize;
        if (size < OptionsSizeV1)
            throw new NativeException(Status.VersionMismatch,
                $"options->struct_size is {size}, smaller than ray_options of ABI {AbiVersion} ({sizeof(NativeOptions)} bytes); initialize it with ray_options_init");
        if (options->AbiVersion != AbiVersion)
            throw new NativeException(Status.VersionMismatch,
                $"options were built for ABI {options->AbiVersion}, this library implements ABI {AbiVersion}");
        // Read only the fields the caller's struct has (a program built with the first header
        // passes the shorter struct); the rest stay zero = default.
        NativeOptions o = default;
        Buffer.MemoryCopy(options, &o, sizeof(NativeOptions), Math.Min(size, (uint)sizeof(NativeOptions)));
        clusterToken = Utf8.ReadOptional(o.ClusterToken);
        if (double.IsNaN(o.NumCpus) || o.NumCpus < 0) throw new NativeException(Status.InvalidArgument, $"num_cpus {o.NumCpus} is negative");
        if (o.NumWorkers < 0) throw new NativeException(Status.InvalidArgument, $"num_workers {o.NumWorkers} is negative");
        if (o.ObjectStoreBytes < 0) throw new NativeException(Status.InvalidArgument, $"object_store_bytes {o.ObjectStoreBytes} is negative");
        if (o.LargeObjectThresholdBytes < 0) throw new NativeException(Status.InvalidArgument, $"large_object_threshold_bytes {o.LargeObjectThresholdBytes} is negative");
        var prefault = o.Prefault switch
        {
            0 => Ray.Plasma.Store.PrefaultMode.Background,
            1 => Ray.Plasma.Store.PrefaultMode.Eager,
            2 => Ray.Plasma.Store.PrefaultMode.None,
            _ => throw new NativeException(Status.InvalidArgument, $"prefault {o.Prefault} is not one of RAY_PREFAULT_BACKGROUND (0), _EAGER (1), _NONE (2)"),
        };
        var defaults = new RuntimeOptions();
        return defaults with
        {
            NumCpus = o.NumCpus > 0 ? o.NumCpus : null,
            NumWorkers = o.NumWorkers > 0 ? o.NumWorkers : null,
            ObjectStoreMemoryBytes = o.ObjectStoreBytes > 0 ? o.ObjectStoreBytes : null,
            LargeObjectThresholdBytes = o.LargeObjectThresholdBytes > 0 ? o.LargeObjectThresholdBytes : defaults.LargeObjectThresholdBytes,
            ObjectStorePrefault = prefault,
            ObjectStoreDirectory = Utf8.ReadOptional(o.ObjectStoreDirectory),
            SpillDirectory = Utf8.ReadOptional(o.SpillDirectory),
        };
    }
}
