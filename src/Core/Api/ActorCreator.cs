using System.Linq.Expressions;
using System.Reflection;
using MemoryPack;
using Ray.Serialization;

namespace Ray;

/// <summary>Creates actors of <typeparamref name="TActor"/>; from <c>runtime.Actor&lt;T&gt;()</c>.</summary>
public readonly struct ActorCreator<TActor> where TActor : class
{
    private readonly RayRuntime _runtime;
    private readonly ActorOptions? _options;

    internal ActorCreator(RayRuntime runtime, ActorOptions? options)
    {
        _runtime = runtime;
        _options = options;
    }

    /// <summary>The same creator with these options (resources, name, concurrency).</summary>
    public ActorCreator<TActor> Options(ActorOptions options) =>
        new(_runtime, options ?? throw new ArgumentNullException(nameof(options)));

    /// <summary>
    /// Creates the actor with the public constructor matching <paramref name="args"/> and
    /// returns its handle at once; the constructor runs on the actor. Arguments are copied
    /// (as they would be sent to another process), so the actor's state is its own.
    /// </summary>
    public ActorHandle<TActor> Remote(params object?[] args)
    {
        args ??= [null];
        var ctor = FindConstructor(args);
        var copies = new object?[args.Length];
        for (var i = 0; i < args.Length; i++) copies[i] = CopyArgument(args[i], i + 1);
        return _runtime.Core.CreateActor<TActor>(_options ?? ActorOptions.Default, () => ctor.Invoke(copies), ctor, copies);
    }

    /// <summary>
    /// Creates the actor from a constructor call checked by the compiler:
    /// <c>ray.Actor&lt;Counter&gt;().Remote(() =&gt; new Counter(10))</c>. The arguments are
    /// evaluated here, once, and copied as with <see cref="Remote(object?[])"/>; the constructor
    /// runs on the actor (in its worker process when connected).
    /// </summary>
    /// <exception cref="ArgumentException">The expression is not a call of a <typeparamref name="TActor"/> constructor.</exception>
    public ActorHandle<TActor> Remote(Expression<Func<TActor>> construct)
    {
        ArgumentNullException.ThrowIfNull(construct);
        if (construct.Body is not NewExpression { Constructor: { } ctor } call || ctor.DeclaringType != typeof(TActor))
            throw new ArgumentException($"Pass a constructor call, as in () => new {typeof(TActor).Name}(...): its arguments are evaluated here and the constructor runs on the actor.", nameof(construct));
        var copies = new object?[call.Arguments.Count];
        for (var i = 0; i < copies.Length; i++) copies[i] = CopyArgument(Evaluate(call.Arguments[i]), i + 1);
        return _runtime.Core.CreateActor<TActor>(_options ?? ActorOptions.Default, () => ctor.Invoke(copies), ctor, copies);
    }

    // Constants and captured variables are read directly; anything else is interpreted once.
    private static object? Evaluate(Expression e) => e switch
    {
        ConstantExpression c => c.Value,
        MemberExpression { Member: FieldInfo f, Expression: var target } => f.GetValue(target is null ? null : Evaluate(target)),
        _ => Expression.Lambda<Func<object?>>(Expression.Convert(e, typeof(object))).Compile(preferInterpretation: true)(),
    };

    private static ConstructorInfo FindConstructor(object?[] args)
    {
        foreach (var c in typeof(TActor).GetConstructors())
        {
            var ps = c.GetParameters();
            if (ps.Length != args.Length) continue;
            var ok = true;
            for (var i = 0; i < ps.Length && ok; i++)
            {
                var p = ps[i].ParameterType;
                ok = args[i] is null ? !p.IsValueType || Nullable.GetUnderlyingType(p) is not null : p.IsInstanceOfType(args[i]);
            }
            if (ok) return c;
        }
        var types = string.Join(", ", args.Select(a => a?.GetType().Name ?? "null"));
        throw new ArgumentException($"{typeof(TActor).FullName} has no public constructor taking ({types}).", nameof(args));
    }

    private static object? CopyArgument(object? value, int index)
    {
        if (value is null) return null;
        var type = value.GetType();
        if (IsImmutable(type)) return value;
        try
        {
            var bytes = MemoryPackSerializer.Serialize(type, value);
            return MemoryPackSerializer.Deserialize(type, bytes);
        }
        catch (Exception e) when (e is not RayException)
        {
            throw ExceptionFactory.CannotSerialize(type, $"constructor argument {index} of actor {typeof(TActor).Name}", e);
        }
    }

    private static bool IsImmutable(Type t) =>
        t == typeof(string) || typeof(ObjectRef).IsAssignableFrom(t) || typeof(IActorHandle).IsAssignableFrom(t) ||
        (t.IsValueType && RawArrayCodecFactory.IsUnmanaged(t));
}
