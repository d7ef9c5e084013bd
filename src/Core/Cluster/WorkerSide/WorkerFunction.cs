using System.Reflection;
using System.Runtime.CompilerServices;
using Ray.Cluster.Wire;
using Ray.Objects;
using Ray.Serialization;

namespace Ray.Cluster.WorkerSide;

/// <summary>Encodes a result of a known type for the wire (inline, or into the node's store under <paramref name="id"/>).</summary>
internal delegate void ResultEncoder(PayloadWriter w, object? value, ObjectId id, WorkerRuntime runtime);

/// <summary>Readies a result for its reply while the task still counts as running (see <see cref="WorkerFunction.Prepare"/>).</summary>
internal delegate object? ResultPreparer(object? value, WorkerRuntime runtime);

/// <summary>
/// A remote function or actor method as a worker resolved it: found by metadata token in the
/// job's assembly, with a typed <see cref="WorkerInvoker"/> (generated per arity) over a delegate
/// bound once, and its result encoder made once per type: no reflection per call. Lambdas are instance methods of the compiler's
/// closure singleton (<c>&lt;&gt;c.&lt;&gt;9</c>), which is their target.
/// </summary>
internal sealed class WorkerFunction
{
    private static readonly MethodInfo s_encode = typeof(WorkerFunction).GetMethod(nameof(EncodeResult), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo s_prepare = typeof(WorkerFunction).GetMethod(nameof(PrepareResult), BindingFlags.NonPublic | BindingFlags.Static)!;

    private static readonly MethodInfo s_resultOf = typeof(WorkerFunction).GetMethod(nameof(TaskResult), BindingFlags.NonPublic | BindingFlags.Static)!;

    private readonly Func<Task, object?>? _taskResult;

    private WorkerFunction(MethodInfo method, object? target)
    {
        Method = method;
        var ps = method.GetParameters();
        Parameters = ps.Select(p => p.ParameterType).ToArray();
        foreach (var t in Parameters)
            if (t.IsByRef || t.IsPointer || t.IsByRefLike) throw new NotSupportedException($"{Name}: parameter type {t} cannot cross processes");
        var ret = method.ReturnType;
        if (ret == typeof(void) || ret == typeof(Task)) ResultType = typeof(Unit);
        else if (ret.IsGenericType && ret.GetGenericTypeDefinition() == typeof(Task<>))
        {
            ResultType = ret.GetGenericArguments()[0];
            _taskResult = (Func<Task, object?>)s_resultOf.MakeGenericMethod(ResultType).CreateDelegate(typeof(Func<Task, object?>));
        }
        else ResultType = ret;
        IsAsync = typeof(Task).IsAssignableFrom(ret);
        Invoker = CreateInvoker(method, target, Parameters, ret);
        Encoder = (ResultEncoder)s_encode.MakeGenericMethod(ResultType).CreateDelegate(typeof(ResultEncoder));
        _prepare = (ResultPreparer)s_prepare.MakeGenericMethod(ResultType).CreateDelegate(typeof(ResultPreparer));
        if (StreamItemType(ResultType) is { } item)
            Stream = (StreamDrainer)Activator.CreateInstance(typeof(StreamDrainer<>).MakeGenericType(item))!;
    }

    // IEnumerable<T> or IAsyncEnumerable<T> (the declared result, or one it implements): what a streaming call yields.
    private static Type? StreamItemType(Type t)
    {
        foreach (var i in (Type[])[t, .. t.GetInterfaces()])
            if (i.IsGenericType && (i.GetGenericTypeDefinition() == typeof(IEnumerable<>) || i.GetGenericTypeDefinition() == typeof(IAsyncEnumerable<>)))
                return i.GetGenericArguments()[0];
        return null;
    }

    /// <summary>For a function that returns a generator: drains it as a streaming call (null otherwise).</summary>
    internal StreamDrainer? Stream { get; }

    // The generated invoker of the function's arity and shape (WorkerInvokers.g.cs), over a
    // delegate bound once: a static method, or a lambda on its closure singleton.
    private static WorkerInvoker CreateInvoker(MethodInfo method, object? target, Type[] parameters, Type ret)
    {
        var n = parameters.Length;
        var isVoid = ret == typeof(void);
        var name = $"Ray.Cluster.WorkerSide.{(isVoid ? "Action" : "Func")}Invoker{n}";
        var typeArgs = isVoid ? parameters : [.. parameters, ret];
        if (typeArgs.Length > 0) name += "`" + typeArgs.Length;
        var definition = typeof(WorkerInvoker).Assembly.GetType(name)
            ?? throw new NotSupportedException($"{method.DeclaringType?.Name}.{method.Name} takes {n} arguments; a remote function takes at most {MaxArity}");
        var invokerType = typeArgs.Length > 0 ? definition.MakeGenericType(typeArgs) : definition;
        var delegateType = System.Linq.Expressions.Expression.GetDelegateType([.. parameters, ret]);
        var fn = method.CreateDelegate(delegateType, target);
        return (WorkerInvoker)Activator.CreateInstance(invokerType, fn)!;
    }

    /// <summary>The most parameters a worker invoker takes (an actor method's lambda: the actor and 6 arguments).</summary>
    internal const int MaxArity = 7;

    internal MethodInfo Method { get; }
    internal string Name => $"{Method.DeclaringType?.Name}.{Method.Name}";
    internal Type[] Parameters { get; }
    /// <summary>Decodes a call's arguments as their types and calls the function (no reflection per call).</summary>
    internal WorkerInvoker Invoker { get; }
    internal Type ResultType { get; }
    /// <summary>Writes what <see cref="Prepare"/> returned as the reply's value (on the thread that sends the reply, under its send lock: never waits).</summary>
    internal ResultEncoder Encoder { get; }

    private readonly ResultPreparer _prepare;

    /// <summary>
    /// Readies a result for <see cref="Encoder"/>, on the task's thread while it still counts as
    /// running (so a wait lends the task's CPU out): an ObjectRef result, or refs inside a value,
    /// go back with their values, so this waits until they are ready; a serialized value is
    /// serialized here, not under the reply's send lock. Pass what it returns to the encoder,
    /// which releases what this took.
    /// </summary>
    internal object? Prepare(object? result, WorkerRuntime runtime) => _prepare(result, runtime);
    internal bool IsAsync { get; }

    /// <summary>Resolves a function from its definition (assembly, type, token, name).</summary>
    /// <exception cref="InvalidOperationException">The code is not there, or is another build than the driver's.</exception>
    internal static WorkerFunction Resolve(Assembly assembly, string typeName, int token, string methodName)
    {
        MethodBase? found = null;
        foreach (var module in assembly.Modules)
        {
            try { found = module.ResolveMethod(token); }
            catch (ArgumentException) { continue; }
            if (found is not null) break;
        }
        if (found is not MethodInfo method || method.Name != methodName)
            throw new InvalidOperationException($"method {methodName} (token 0x{token:x8}) of {typeName} is not in {assembly.FullName}: the worker loaded another build of the job's code than the driver runs");
        if (method.ContainsGenericParameters)
            throw new InvalidOperationException($"{method.DeclaringType?.Name}.{methodName} is generic or in a generic type; remote functions must be closed methods");
        object? target = null;
        if (!method.IsStatic)
        {
            var type = method.DeclaringType!;
            var singleton = type.GetField("<>9", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic);
            if (singleton is null || !type.IsDefined(typeof(CompilerGeneratedAttribute), false))
                throw new InvalidOperationException($"{type.Name}.{methodName} is an instance method; remote functions are static methods or lambdas that capture nothing");
            target = singleton.GetValue(null);
        }
        return new WorkerFunction(method, target);
    }

    /// <summary>Calls the function; an async one is waited for. Exceptions from user code propagate unwrapped.</summary>
    internal object? Invoke(WorkerCall call)
    {
        var result = call.Invoke();
        if (!IsAsync) return result;
        var task = (Task)result!;
        Tasks.TaskBlocking.Wait(task); // e.g. awaiting a nested task: the CPU is lent meanwhile
        return ResultOf(task);
    }

    /// <summary>
    /// Calls the function and returns what it returned: the value (Unit for void), or for an
    /// async one its task, not waited for. Exceptions from user code propagate unwrapped.
    /// </summary>
    internal static object? Start(WorkerCall call) => call.Invoke();

    /// <summary>The result of an async call's finished task (throws its exception).</summary>
    internal object? ResultOf(Task task) => _taskResult is null ? UnitOf(task) : _taskResult(task);

    // The task has finished (waited for or awaited): this reads its outcome, it does not block.
    private static object? UnitOf(Task task)
    {
        task.GetAwaiter().GetResult();
        return Unit.Value;
    }

    // As UnitOf, for Task<T> (made once per result type).
    private static object? TaskResult<T>(Task task) => ((Task<T>)task).GetAwaiter().GetResult();

    // A result serialized ahead of its reply (values the store keeps serialized).
    private sealed class Serialized(SerializedValue value)
    {
        internal SerializedValue Value { get; } = value;
    }

    internal static object? PrepareResult<T>(object? boxed, WorkerRuntime runtime)
    {
        if (Codec<T>.IsDirect)
        {
            if (boxed is ObjectRef r) r.Entry.WaitCompleted(Timeout.InfiniteTimeSpan); // reports the block itself: the CPU is lent
            if (boxed is IActorInstanceHolder)
                throw new NotSupportedException($"an actor handle cannot be returned from a worker process yet (pass it to tasks from its owner instead)");
            return boxed;
        }
        if (Codec<T>.Kind == CodecKind.RawArray) return boxed;
        var s = Codec<T>.Serialize((T)boxed!, runtime.Store, "the result");
        if (s.Contained is { } refs)
            foreach (var e in refs) e.WaitCompleted(Timeout.InfiniteTimeSpan);
        return new Serialized(s);
    }

    internal static void EncodeResult<T>(PayloadWriter w, object? prepared, ObjectId id, WorkerRuntime runtime)
    {
        if (Codec<T>.IsDirect)
        {
            using var inline = RefWire.InlineScope(); // refs in a reply carry their bytes
            ValueWire.WriteDirect(w, (T)prepared!);
            return;
        }
        if (Codec<T>.Kind == CodecKind.RawArray)
        {
            var value = (T)prepared!;
            if (value is null) ValueWire.WriteNull(w);
            else WriteBytes(w, Codec<T>.RawBytes(value), id, runtime); // no copy of the array's bytes
            return;
        }
        var s = ((Serialized)prepared!).Value;
        try
        {
            var bytes = new ReadOnlySpan<byte>(s.Buffer, 0, Math.Max(0, s.Length));
            if (s.Contained is { Length: > 0 } refs)
            {
                using var inline = RefWire.InlineScope();
                IncomingRefs.Write(w, refs, bytes); // ready: Prepare waited
            }
            else if (s.Length < 0) ValueWire.WriteNull(w);
            else WriteBytes(w, bytes, id, runtime);
        }
        finally
        {
            if (s.Pooled) runtime.Store.Buffers.Return(s.Buffer);
            if (s.Contained is { } held) foreach (var e in held) e.Release(); // the serialized copy's references: it is not kept here
        }
    }

    // Large results go into the node's store under the owner's id; the rest inline.
    private static void WriteBytes(PayloadWriter w, ReadOnlySpan<byte> bytes, ObjectId id, WorkerRuntime runtime)
    {
        if (bytes.Length >= runtime.Threshold && runtime.TryPutPlasma(id, bytes)) ValueWire.WritePlasma(w, id, bytes.Length, runtime.Store.NodeTag);
        else ValueWire.WriteInline(w, bytes);
    }
}
