using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;

namespace Ray.Native;

/// <summary>A function tasks submitted from C can run, found by name: bytes in, bytes out.</summary>
internal abstract class NativeFunction(string name)
{
    internal string Name { get; } = name;

    /// <summary>The options of every task of this function: its name shows in errors and stats.</summary>
    internal TaskOptions Options { get; } = new() { Name = name };

    internal abstract byte[] Invoke(byte[] argument);
}

/// <summary>A function written in C#.</summary>
internal sealed class ManagedFunction(string name, Func<byte[], byte[]> body) : NativeFunction(name)
{
    internal override byte[] Invoke(byte[] argument) => body(argument);
}

/// <summary>
/// A function registered from C: <c>ray_status fn(void* user_data, const uint8_t* arg, size_t
/// arg_size, ray_output_t output)</c>. The output handle lives only during the call.
/// </summary>
internal sealed unsafe class CFunction(string name, delegate* unmanaged<void*, byte*, nuint, ulong, int> fn, void* userData)
    : NativeFunction(name)
{
    internal override byte[] Invoke(byte[] argument)
    {
        var output = new FunctionOutput();
        var handle = Handles.Add(HandleKind.Output, output);
        int status;
        try
        {
            fixed (byte* p = argument) status = fn(userData, p, (nuint)argument.Length, handle);
        }
        finally
        {
            Handles.TryRemove(handle, HandleKind.Output, out _);
        }
        if (status != 0 || output.Error is not null)
            throw new NativeFunctionException(status == 0
                ? $"C function '{Name}' failed: {output.Error}"
                : $"C function '{Name}' returned {Marshal.PtrToStringUTF8((nint)LastError.Name(status))} ({status})" +
                  (output.Error is null ? "" : $": {output.Error}"));
        return output.Result ?? [];
    }
}

/// <summary>Where a C function puts its result or its error message.</summary>
internal sealed class FunctionOutput
{
    internal byte[]? Result;
    internal string? Error;
}

/// <summary>A function registered from C failed (returned a non-zero status or set an error).</summary>
public sealed class NativeFunctionException : Exception
{
    /// <summary>Creates the exception with the function's message.</summary>
    public NativeFunctionException(string message) : base(message) { }
}

/// <summary>
/// Functions that tasks submitted through the C ABI (<c>ray_submit</c>) run, by name. C# code
/// compiled into the library registers with <see cref="RegisterGlobal"/> (visible to every
/// runtime); C registers per runtime with <c>ray_register_function</c>. Built in: <c>echo</c>
/// (returns its argument), <c>sum</c> (little-endian int64 values in, their int64 sum out),
/// <c>fail</c> (throws, with the argument as UTF-8 text in the message), <c>sleep_ms</c>
/// (sleeps a little-endian uint32 of milliseconds, returns nothing).
/// </summary>
public static class NativeFunctions
{
    private static readonly ConcurrentDictionary<string, NativeFunction> s_global = new(StringComparer.Ordinal);
    private static readonly Func<string, byte[], byte[]> s_invoke = Invoke;

    static NativeFunctions()
    {
        RegisterGlobal("echo", static a => a);
        RegisterGlobal("sum", Sum);
        RegisterGlobal("fail", static a => throw new InvalidOperationException($"fail was asked to fail: {Encoding.UTF8.GetString(a)}"));
        RegisterGlobal("sleep_ms", static a =>
        {
            if (a.Length != 4) throw new ArgumentException($"sleep_ms takes a 4-byte little-endian uint32, got {a.Length} bytes");
            Thread.Sleep((int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(a), int.MaxValue));
            return [];
        });
    }

    /// <summary>Registers a C# function for every runtime of the process.</summary>
    /// <exception cref="ArgumentException">The name is empty or taken.</exception>
    public static void RegisterGlobal(string name, Func<byte[], byte[]> function)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(function);
        if (!s_global.TryAdd(name, new ManagedFunction(name, function)))
            throw new ArgumentException($"A global function named '{name}' already exists.", nameof(name));
    }

    internal static NativeFunction? FindGlobal(string name) => s_global.TryGetValue(name, out var f) ? f : null;

    /// <summary>The delegate every C-submitted task runs: finds the function by name and calls it.</summary>
    internal static Func<string, byte[], byte[]> InvokeDelegate => s_invoke;

    private static byte[] Invoke(string name, byte[] argument)
    {
        var runtime = RayRuntime.Current;
        var function = (NativeRuntime.For(runtime)?.Find(name) ?? FindGlobal(name))
            ?? throw new KeyNotFoundException($"No function named '{name}' is registered (it was unregistered after the task was submitted?).");
        return function.Invoke(argument);
    }

    private static byte[] Sum(byte[] a)
    {
        if (a.Length % 8 != 0) throw new ArgumentException($"sum takes little-endian int64 values, got {a.Length} bytes (not a multiple of 8)");
        long total = 0;
        foreach (var v in MemoryMarshal.Cast<byte, long>(a)) total += BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v);
        var result = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(result, total);
        return result;
    }
}
