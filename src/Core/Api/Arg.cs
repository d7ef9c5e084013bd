namespace Ray;

/// <summary>
/// A task argument: a value, or a reference to an object that another task produces.
/// Converts implicitly from both, so <c>Remote(1, otherRef)</c> just works. A referenced
/// argument makes the task wait until the object is ready, then receive its value.
/// </summary>
public readonly struct Arg<T>
{
    private Arg(T? value, ObjectRef<T>? reference)
    {
        Value = value;
        Ref = reference;
    }

    internal T? Value { get; }
    internal ObjectRef<T>? Ref { get; }

    /// <summary>Passes a value (copied into the task unless the type is immutable).</summary>
    public static implicit operator Arg<T>(T value) => new(value, null);

    /// <summary>Passes the value of another object once it is ready.</summary>
    public static implicit operator Arg<T>(ObjectRef<T> reference) =>
        new(default, reference ?? throw new ArgumentNullException(nameof(reference)));
}
