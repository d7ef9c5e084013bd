namespace Ray;

/// <summary>
/// A function to run as tasks, from <c>runtime.Task(Fns.Add)</c>. Call <c>Remote(args)</c> to
/// submit one (an extension method per delegate shape, so argument types are checked at
/// compile time), or <see cref="Options"/> for resources and retries.
/// </summary>
public readonly struct RemoteFunction<TDelegate> where TDelegate : Delegate
{
    internal RemoteFunction(RayRuntime runtime, TDelegate function, Tasks.FunctionDescriptor descriptor, TaskOptions? options)
    {
        Runtime = runtime;
        Function = function;
        Descriptor = descriptor;
        TaskOptions = options;
    }

    internal RayRuntime Runtime { get; }
    internal TDelegate Function { get; }

    /// <summary>Resolved once when the function is made, so submitting does no lookup.</summary>
    internal Tasks.FunctionDescriptor Descriptor { get; }
    internal TaskOptions? TaskOptions { get; }

    /// <summary>The same function with these options (resources, retries, name).</summary>
    public RemoteFunction<TDelegate> Options(TaskOptions options) =>
        new(Runtime, Function, Descriptor, options ?? throw new ArgumentNullException(nameof(options)));
}
