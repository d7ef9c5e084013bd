namespace Ray.Serve;

/// <summary>
/// A deployment of class <typeparamref name="T"/> (Ray's <c>@serve.deployment</c> class):
/// <c>Serve.Deployment&lt;Model&gt;(options).Bind(args)</c> makes an <see cref="Application"/>.
/// Each replica is an actor holding one instance of <typeparamref name="T"/>.
/// </summary>
public sealed class Deployment<T> where T : class
{
    internal Deployment(DeploymentOptions options)
    {
        Options = options ?? throw new ArgumentNullException(nameof(options));
        Name = options.Name ?? typeof(T).Name;
        options.Validate(Name);
    }

    /// <summary>The deployment's name (its options' Name, else the class name).</summary>
    public string Name { get; }

    /// <summary>The options.</summary>
    public DeploymentOptions Options { get; }

    /// <summary>The same deployment with other options.</summary>
    public Deployment<T> WithOptions(DeploymentOptions options) => new(options);

    /// <summary>
    /// Binds constructor arguments (Ray's <c>.bind(...)</c>). An argument that is another
    /// <see cref="Application"/> becomes a <see cref="DeploymentHandle{T}"/> to that deployment
    /// (declare the constructor parameter as <c>DeploymentHandle&lt;Other&gt;</c>): this is how
    /// deployments are composed. Other arguments must be MemoryPack-serializable; they are copied
    /// to every replica.
    /// </summary>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> has no public constructor taking these arguments.</exception>
    public Application<T> Bind(params object?[] args)
    {
        args ??= [null];
        ValidateConstructor(args);
        return new Application<T>(this, args);
    }

    private static void ValidateConstructor(object?[] args)
    {
        foreach (var c in typeof(T).GetConstructors())
        {
            var ps = c.GetParameters();
            if (ps.Length != args.Length) continue;
            var ok = true;
            for (var i = 0; i < ps.Length && ok; i++)
            {
                var p = ps[i].ParameterType;
                ok = args[i] switch
                {
                    null => !p.IsValueType || Nullable.GetUnderlyingType(p) is not null,
                    Application a => p == typeof(DeploymentHandle<>).MakeGenericType(a.DeploymentType),
                    var v => p.IsInstanceOfType(v),
                };
            }
            if (ok) return;
        }
        var types = string.Join(", ", args.Select(a => a is Application app ? $"DeploymentHandle<{app.DeploymentType.Name}>" : a?.GetType().Name ?? "null"));
        throw new ArgumentException($"{typeof(T).FullName} has no public constructor taking ({types}).", nameof(args));
    }
}

/// <summary>
/// A deployment with its constructor arguments bound (Ray's <c>Application</c>): run it with
/// <see cref="ServeInstance.Run{T}"/>, or pass it to another deployment's <c>Bind</c> to compose them.
/// </summary>
public abstract class Application
{
    private protected Application() { }

    /// <summary>The deployment's class.</summary>
    public abstract Type DeploymentType { get; }

    /// <summary>The deployment's name.</summary>
    public abstract string Name { get; }

    /// <summary>The deployment's options.</summary>
    public abstract DeploymentOptions Options { get; }

    /// <summary>The bound constructor arguments.</summary>
    public abstract IReadOnlyList<object?> Arguments { get; }

    /// <summary>The same graph with each deployment's options passed through <paramref name="options"/> (config overrides).</summary>
    internal abstract Application WithOptions(Func<string, DeploymentOptions, DeploymentOptions> options);
}

/// <summary>An <see cref="Application"/> whose ingress deployment is of class <typeparamref name="T"/>.</summary>
public sealed class Application<T> : Application where T : class
{
    private readonly object?[] _args;

    internal Application(Deployment<T> deployment, object?[] args)
    {
        Deployment = deployment;
        _args = args;
    }

    /// <summary>The deployment.</summary>
    public Deployment<T> Deployment { get; }

    /// <inheritdoc />
    public override Type DeploymentType => typeof(T);

    /// <inheritdoc />
    public override string Name => Deployment.Name;

    /// <inheritdoc />
    public override DeploymentOptions Options => Deployment.Options;

    /// <inheritdoc />
    public override IReadOnlyList<object?> Arguments => _args;

    internal override Application WithOptions(Func<string, DeploymentOptions, DeploymentOptions> options) =>
        new Application<T>(new Deployment<T>(options(Name, Options)), _args.Select(a => a is Application child ? child.WithOptions(options) : a).ToArray());
}
