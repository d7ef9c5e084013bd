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
