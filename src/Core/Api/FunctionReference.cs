using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Ray;

/// <summary>
/// A static method or a lambda that captures nothing, named so that another process can find
/// it: the declaring type's assembly-qualified name, the method's metadata token and its name.
/// Libraries built on Ray (Ray.Data ships user transforms this way) pass it as a plain value
/// inside task arguments and call <see cref="Resolve{TDelegate}"/> where the code runs; a worker
/// process finds the assembly on the job's code paths, as it does for remote functions.
/// <code>
/// var f = FunctionReference.Of((Func&lt;long, long&gt;)(x =&gt; x * 2));
/// string wire = f.ToString();                                  // ship it
/// var g = FunctionReference.Parse(wire).Resolve&lt;Func&lt;long, long&gt;&gt;(); // resolved once, cached
/// </code>
/// </summary>
/// <param name="TypeName">The declaring type's assembly-qualified name (for a lambda, the compiler's closure class).</param>
/// <param name="MethodName">The method's name, checked against the token on resolution.</param>
/// <param name="MetadataToken">The method's metadata token in its module.</param>
public sealed record FunctionReference(string TypeName, string MethodName, int MetadataToken)
{
    private static readonly ConcurrentDictionary<(FunctionReference, Type), Delegate> s_resolved = new();

    /// <summary>The reference of <paramref name="function"/>, checked as a remote function is.</summary>
    /// <exception cref="ArgumentException">The delegate is bound to an instance, captures state, is multicast, or is generic.</exception>
    public static FunctionReference Of(Delegate function)
    {
        ArgumentNullException.ThrowIfNull(function);
        var method = Tasks.FunctionDescriptor.For(function).Method; // same rules as Task(fn): static or capture-free
        if (method.ContainsGenericParameters || method.DeclaringType is null || method.DeclaringType.ContainsGenericParameters || method.DeclaringType.IsGenericType)
            throw new ArgumentException($"'{method.DeclaringType?.Name}.{method.Name}' is generic or declared in a generic type (a lambda inside a generic method is): use a non-generic static method.", nameof(function));
        return new FunctionReference(method.DeclaringType.AssemblyQualifiedName!, method.Name, method.MetadataToken);
    }

    /// <summary>
    /// The delegate this reference names, made once per process and delegate type. The assembly
    /// is loaded when needed (in a worker process, from the job's code paths).
    /// </summary>
    /// <exception cref="InvalidOperationException">The type or method is not found (another build), or the method does not fit <typeparamref name="TDelegate"/>.</exception>
    public TDelegate Resolve<TDelegate>() where TDelegate : Delegate =>
        (TDelegate)s_resolved.GetOrAdd((this, typeof(TDelegate)), static key => key.Item1.Create(key.Item2));

    private Delegate Create(Type delegateType)
    {
        var type = Type.GetType(TypeName, throwOnError: false)
            ?? throw new InvalidOperationException($"type {TypeName} of function {MethodName} is not loaded nor on the job's code paths");
        MethodBase? found = null;
        try { found = type.Module.ResolveMethod(MetadataToken); }
        catch (ArgumentException) { }
        if (found is not MethodInfo method || method.Name != MethodName)
            throw new InvalidOperationException($"method {MethodName} (token 0x{MetadataToken:x8}) is not in {type.Assembly.FullName}: this process loaded another build of the code than the one that made the reference");
        object? target = null;
        if (!method.IsStatic)
        {
            // A capture-free lambda is an instance method of the compiler's closure singleton "<>9".
            var singleton = method.DeclaringType!.GetField("<>9", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic);
            if (singleton is null || !method.DeclaringType.IsDefined(typeof(CompilerGeneratedAttribute), false))
                throw new InvalidOperationException($"{method.DeclaringType.Name}.{MethodName} is an instance method; a function reference names a static method or a lambda that captures nothing");
            target = singleton.GetValue(null);
        }
        try { return method.CreateDelegate(delegateType, target); }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"{method.DeclaringType?.Name}.{MethodName} does not fit {delegateType.Name}: {e.Message}", e);
        }
    }

    /// <summary>A one-line form for the wire: <c>token|method|type</c>; read back with <see cref="Parse"/>.</summary>
    public override string ToString() => $"{MetadataToken}|{MethodName}|{TypeName}";

    /// <summary>Reads the form <see cref="ToString"/> writes.</summary>
    /// <exception cref="FormatException">Not that form.</exception>
    public static FunctionReference Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var a = text.IndexOf('|');
        var b = a < 0 ? -1 : text.IndexOf('|', a + 1);
        if (a <= 0 || b <= a + 1 || b == text.Length - 1 || !int.TryParse(text.AsSpan(0, a), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var token))
            throw new FormatException($"not a function reference: '{text}' (expected token|method|type)");
        return new FunctionReference(text[(b + 1)..], text[(a + 1)..b], token);
    }
}
