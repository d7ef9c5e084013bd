using System.Reflection;
using System.Runtime.CompilerServices;

namespace Ray.Tasks;

/// <summary>
/// What identifies a remote function across processes (declaring type and method), resolved
/// and validated once per delegate and cached. Only static methods and lambdas that capture
/// nothing qualify: a worker process must be able to find the code by name.
/// </summary>
internal sealed class FunctionDescriptor
{
    private static readonly ConditionalWeakTable<Delegate, FunctionDescriptor> s_byDelegate = new();

    private FunctionDescriptor(MethodInfo method, string name)
    {
        Method = method;
        Name = name;
        TypeName = method.DeclaringType?.AssemblyQualifiedName ?? "";
    }

    private static int s_nextWireIndex;
    private int _wireIndex;

    internal MethodInfo Method { get; }

    /// <summary>The file of the function's assembly, which worker processes load; empty under NativeAOT / single-file.</summary>
    // Read once: Assembly.Location is a runtime call, and this is read on every push of a task.
    internal string AssemblyPath => _assemblyPath ??= LocationOf(Method);

    private string? _assemblyPath;

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("SingleFile", "IL3000", Justification = "Empty when there is no file; callers check.")]
    private static string LocationOf(MethodInfo m) => m.Module.Assembly.Location;

    /// <summary>This function's number on driver-worker connections (assigned on first use).</summary>
    internal int WireIndex
    {
        get
        {
            var i = Volatile.Read(ref _wireIndex);
            if (i != 0) return i;
            Interlocked.CompareExchange(ref _wireIndex, Interlocked.Increment(ref s_nextWireIndex), 0);
            return _wireIndex;
        }
    }
    internal string Name { get; }
    internal string TypeName { get; }

    internal static FunctionDescriptor For(Delegate fn)
    {
        if (s_byDelegate.TryGetValue(fn, out var d)) return d;
        d = Create(fn);
        s_byDelegate.AddOrUpdate(fn, d);
        return d;
    }

    private static FunctionDescriptor Create(Delegate fn)
    {
        ArgumentNullException.ThrowIfNull(fn);
        var method = fn.Method;
        if (fn.HasSingleTarget is false)
            ExceptionFactory.ThrowArgument("A remote function must be a single method, not a multicast delegate.", nameof(fn));
        if (fn.Target is { } target && !IsCaptureFreeClosure(target.GetType()))
            ExceptionFactory.ThrowArgument(
                $"'{method.DeclaringType?.Name}.{method.Name}' is not a static method or a lambda that captures nothing " +
                $"(it is bound to a {target.GetType().Name}). Remote functions run in workers that only know your code by name: " +
                "use a static method, and pass state as arguments or keep it in an actor.", nameof(fn));
        return new FunctionDescriptor(method, DisplayName(method));
    }

    // The C# compiler puts capture-free lambdas on a singleton of a nested class named "<>c".
    private static bool IsCaptureFreeClosure(Type t) =>
        t.Name == "<>c" && t.IsDefined(typeof(CompilerGeneratedAttribute), false);

    private static string DisplayName(MethodInfo m)
    {
        var type = m.DeclaringType;
        if (type is not null && type.Name == "<>c") type = type.DeclaringType;
        var method = m.Name.StartsWith('<') ? "lambda" : m.Name;
        return type is null ? method : $"{type.Name}.{method}";
    }
}
