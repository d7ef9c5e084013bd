using System.Collections.Concurrent;
using System.Reflection;
using MemoryPack;

namespace Ray.Serve.Replica;

/// <summary>
/// Calls one public method of a deployment class by name, with arguments serialized by their
/// declared types, and serializes its result (awaiting it when it is a <c>Task&lt;T&gt;</c>).
/// Resolved once per (class, name, arity) and cached: requests name methods, not delegates, so
/// the same request works in-process and in a worker process.
/// </summary>
internal sealed class MethodInvoker
{
    private static readonly ConcurrentDictionary<(Type, string, int), MethodInvoker> s_cache = new();

    private readonly PropertyInfo? _taskResult;

    private MethodInvoker(MethodInfo method)
    {
        Method = method;
        ParameterTypes = method.GetParameters().Select(p => p.ParameterType).ToArray();
        TakesToken = ParameterTypes.Length > 0 && ParameterTypes[^1] == typeof(CancellationToken);
        var ret = method.ReturnType;
        if (ret.IsGenericType && ret.GetGenericTypeDefinition() == typeof(Task<>))
        {
            _taskResult = ret.GetProperty(nameof(Task<int>.Result));
            ResultType = ret.GetGenericArguments()[0];
        }
        else if (ret == typeof(void) || ret == typeof(Task) || ret == typeof(ValueTask) || (ret.IsGenericType && ret.GetGenericTypeDefinition() == typeof(ValueTask<>)))
            throw new ArgumentException($"{method.DeclaringType?.Name}.{method.Name} returns {ret.Name}: a deployment method returns a value or a Task<T>.");
        else ResultType = ret;
        if (ret.IsGenericType && ret.GetGenericTypeDefinition() == typeof(IAsyncEnumerable<>)) StreamItemType = ret.GetGenericArguments()[0];
        Batch = method.GetCustomAttribute<BatchAttribute>();
        if (Batch is not null)
        {
            if (ParameterTypes.Length != 1 || !ParameterTypes[0].IsSZArray || !ResultType.IsSZArray)
                throw new ArgumentException($"{method.DeclaringType?.Name}.{method.Name} has [Batch]: it must take one array and return an array (or a Task of one).");
            ItemType = ParameterTypes[0].GetElementType();
        }
    }

    internal MethodInfo Method { get; }
    internal Type[] ParameterTypes { get; }
    /// <summary>The last parameter is a CancellationToken the caller does not send (streams get theirs through WithCancellation).</summary>
    internal bool TakesToken { get; }
    /// <summary>The result type (for a Task&lt;T&gt; method, T).</summary>
    internal Type ResultType { get; }
    internal BatchAttribute? Batch { get; }
    /// <summary>True for a method that returns its value directly and is not batched: it runs on one of the replica actor's own threads.</summary>
    internal bool IsSynchronous => _taskResult is null && Batch is null && StreamItemType is null;

    /// <summary>For a method returning <c>IAsyncEnumerable&lt;T&gt;</c> (a streaming method), T.</summary>
    internal Type? StreamItemType { get; }

    /// <summary>For a batched method, the type of one item.</summary>
    internal Type? ItemType { get; }

    /// <summary>The public instance method <paramref name="name"/> of <paramref name="type"/> taking <paramref name="arity"/> arguments.</summary>
    /// <exception cref="ArgumentException">None, or several of that arity.</exception>
    internal static MethodInvoker For(Type type, string name, int arity) =>
        s_cache.GetOrAdd((type, name, arity), static k =>
        {
            var (t, n, a) = k;
            var found = t.GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.Name == n && !m.IsGenericMethodDefinition
                && (m.GetParameters().Length == a || (m.GetParameters().Length == a + 1 && m.GetParameters()[^1].ParameterType == typeof(CancellationToken)))).ToArray();
            if (found.Length == 0) throw new ArgumentException($"{t.Name} has no public method {n} taking {a} argument(s).");
            if (found.Length > 1) throw new ArgumentException($"{t.Name} has {found.Length} public methods {n} taking {a} argument(s): a deployment method is found by name and arity.");
            return new MethodInvoker(found[0]);
        });

    /// <summary>Deserializes argument <paramref name="i"/> (for a batched method: one item).</summary>
    internal object? ReadArgument(int i, byte[] bytes) =>
        MemoryPackSerializer.Deserialize(Batch is not null ? ItemType! : ParameterTypes[i], bytes);

    /// <summary>Every argument of a call (a trailing CancellationToken as none).</summary>
    internal object?[] ReadArguments(byte[][] args)
    {
        var values = new object?[ParameterTypes.Length];
        for (var i = 0; i < args.Length; i++) values[i] = ReadArgument(i, args[i]);
        if (TakesToken) values[^1] = CancellationToken.None;
        return values;
    }

    /// <summary>Runs the method and returns its (awaited) result.</summary>
    internal async Task<object?> InvokeAsync(object instance, object?[] args)
    {
        object? r;
        try { r = Method.Invoke(instance, args); }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
        if (_taskResult is null) return r;
        var task = (Task)r!;
        await task.ConfigureAwait(false);
        return _taskResult.GetValue(task);
    }

    /// <summary>The result's bytes (one item's type for a batched method's items).</summary>
    internal byte[] WriteResult(object? value, bool item) =>
        MemoryPackSerializer.Serialize(item ? ResultType.GetElementType()! : ResultType, value);
}
