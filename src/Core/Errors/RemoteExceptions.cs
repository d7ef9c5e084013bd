using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace Ray;

/// <summary>
/// The exception user code threw in another process, when its type is not one this process can
/// make (not loaded here, or without a constructor taking a message): its type name, message
/// and the stack where it was thrown, so a handler still sees what went wrong.
/// </summary>
public sealed class RemoteException : Exception
{
    internal RemoteException(string typeName, string message, string? remoteStackTrace) : base(message)
    {
        TypeName = typeName;
        RemoteStackTrace = remoteStackTrace;
    }

    /// <summary>Full name of the exception type thrown in the other process.</summary>
    public string TypeName { get; }

    /// <summary>Where it was thrown, in the other process.</summary>
    public string? RemoteStackTrace { get; }

    /// <inheritdoc />
    public override string ToString() => $"{TypeName}: {Message}{Environment.NewLine}{RemoteStackTrace}";
}

/// <summary>
/// Rebuilds exceptions that crossed from a worker process as text (type name, message, stack),
/// so a task error is handled alike in both modes: <see cref="Exception.InnerException"/> of the
/// <see cref="RayTaskException"/> is an exception of the thrown type when this process has that
/// type (the job's code is loaded in the driver too), else a <see cref="RemoteException"/>.
/// </summary>
internal static class RemoteExceptions
{
    private static readonly ConcurrentDictionary<string, Type?> s_types = new(StringComparer.Ordinal);

    /// <summary>The exception type named <paramref name="fullName"/> among the loaded assemblies, or null.</summary>
    internal static Type? Resolve(string fullName) => s_types.GetOrAdd(fullName, s_find);

    private static readonly Func<string, Type?> s_find = Find;

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "A type trimming removed was never thrown; not finding it falls back to RemoteException.")]
    private static Type? Find(string name)
    {
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            Type? t;
            try { t = assembly.GetType(name, throwOnError: false); }
            catch (Exception e) when (e is FileLoadException or BadImageFormatException or TypeLoadException) { continue; }
            if (t is not null && typeof(Exception).IsAssignableFrom(t)) return t;
        }
        return null;
    }

    /// <summary>An exception of the remote type with its message, or a <see cref="RemoteException"/> naming it.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "A constructor trimming removed is not found; creation then falls back to RemoteException.")]
    internal static Exception Rebuild(string typeName, string message, string? stack)
    {
        if (Resolve(typeName) is { IsAbstract: false } type && type != typeof(RayTaskException))
        {
            try
            {
                if (type.GetConstructor([typeof(string)]) is { } withMessage) return (Exception)withMessage.Invoke([message]);
            }
            catch (Exception e) when (e is TargetInvocationException or MemberAccessException or NotSupportedException) { }
        }
        return new RemoteException(typeName, message, stack);
    }

    /// <summary>True when a remote exception of <paramref name="typeName"/> is a <paramref name="listed"/> (a subclass counts, as in-process).</summary>
    internal static bool IsA(string typeName, Type listed) =>
        listed.FullName == typeName || (Resolve(typeName) is { } t && listed.IsAssignableFrom(t));
}
