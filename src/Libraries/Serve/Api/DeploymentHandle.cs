using System.Linq.Expressions;
using MemoryPack;
using Ray.Serve.Replica;
using Ray.Serve.Routing;

namespace Ray.Serve;

/// <summary>
/// Calls a deployment's replicas (Ray's <c>DeploymentHandle</c>):
/// <c>await handle.Remote((Model m, string x) =&gt; m.Predict(x), "input")</c>. The lambda names a
/// public method of <typeparamref name="T"/> called with the lambda's parameters in order; the
/// method runs on a replica chosen by the router. Calls return at once with a
/// <see cref="DeploymentResponse{T}"/>. Handles given to <c>Bind</c> arrive in the replicas of
/// the deployment they were bound into, and work there the same way.
/// </summary>
public sealed class DeploymentHandle<T> where T : class
{
    private Router? _router;

    internal DeploymentHandle(string key) => Key = key;

    internal string Key { get; }

    private Router Router => _router ??= Routers.GetOrCreate(Key);

    /// <summary>The deployment's name.</summary>
    public string DeploymentName => Key[(Key.LastIndexOf(':') + 1)..];

    /// <summary>Calls a method without arguments.</summary>
    public DeploymentResponse<TR> Remote<TR>(Expression<Func<T, TR>> method) => Send<TR>(MethodName(method), []);

    /// <summary>Calls an async method without arguments.</summary>
    public DeploymentResponse<TR> Remote<TR>(Expression<Func<T, Task<TR>>> method) => Send<TR>(MethodName(method), []);

    /// <summary>Calls a method with one argument.</summary>
    public DeploymentResponse<TR> Remote<TA, TR>(Expression<Func<T, TA, TR>> method, ServeArg<TA> arg) => Send1<TA, TR>(MethodName(method), arg);

    /// <summary>Calls an async method with one argument.</summary>
    public DeploymentResponse<TR> Remote<TA, TR>(Expression<Func<T, TA, Task<TR>>> method, ServeArg<TA> arg) => Send1<TA, TR>(MethodName(method), arg);

    /// <summary>Calls a <see cref="BatchAttribute"/> method with one item; the replica runs it in a batch and returns this item's result.</summary>
    public DeploymentResponse<TR> Remote<TA, TR>(Expression<Func<T, TA[], Task<TR[]>>> batchMethod, ServeArg<TA> item) => Send1<TA, TR>(MethodName(batchMethod), item);

    /// <summary>Calls a synchronous <see cref="BatchAttribute"/> method with one item.</summary>
    public DeploymentResponse<TR> Remote<TA, TR>(Expression<Func<T, TA[], TR[]>> batchMethod, ServeArg<TA> item) => Send1<TA, TR>(MethodName(batchMethod), item);

    /// <summary>Calls a method with two arguments.</summary>
    public DeploymentResponse<TR> Remote<TA, TB, TR>(Expression<Func<T, TA, TB, TR>> method, ServeArg<TA> a, ServeArg<TB> b) => Send2<TA, TB, TR>(MethodName(method), a, b);

    /// <summary>Calls an async method with two arguments.</summary>
    public DeploymentResponse<TR> Remote<TA, TB, TR>(Expression<Func<T, TA, TB, Task<TR>>> method, ServeArg<TA> a, ServeArg<TB> b) => Send2<TA, TB, TR>(MethodName(method), a, b);

    /// <summary>
    /// Calls a streaming method (one returning <c>IAsyncEnumerable&lt;TItem&gt;</c>) without arguments;
    /// items arrive as the replica produces them (Ray's <c>handle.options(stream=True)</c>).
    /// Breaking off the enumeration cancels the stream on the replica.
    /// </summary>
    public IAsyncEnumerable<TItem> Stream<TItem>(Expression<Func<T, IAsyncEnumerable<TItem>>> method, CancellationToken cancellationToken = default) =>
        StreamAsync<TItem>(MethodName(method), () => ValueTask.FromResult<byte[][]>([]), cancellationToken);

    /// <summary>Calls a streaming method with one argument (see <see cref="Stream{TItem}(Expression{Func{T, IAsyncEnumerable{TItem}}}, CancellationToken)"/>).</summary>
    public IAsyncEnumerable<TItem> Stream<TA, TItem>(Expression<Func<T, TA, IAsyncEnumerable<TItem>>> method, ServeArg<TA> arg, CancellationToken cancellationToken = default) =>
        StreamAsync<TItem>(MethodName(method), async () => [MemoryPackSerializer.Serialize(await arg.ResolveAsync().ConfigureAwait(false))], cancellationToken);

    private async IAsyncEnumerable<TItem> StreamAsync<TItem>(string method, Func<ValueTask<byte[][]>> args, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var call = new ReplicaCall { Method = method, Args = await args().ConfigureAwait(false) };
        await foreach (var item in Router.StreamAsync(call, cancellationToken).ConfigureAwait(false))
            yield return MemoryPackSerializer.Deserialize<TItem>(item)!;
    }

    private DeploymentResponse<TR> Send<TR>(string method, byte[][] args) => new(CallAsync<TR>(method, args));

    private DeploymentResponse<TR> Send1<TA, TR>(string method, ServeArg<TA> a) => new(Call1Async<TA, TR>(method, a));

    private DeploymentResponse<TR> Send2<TA, TB, TR>(string method, ServeArg<TA> a, ServeArg<TB> b) => new(Call2Async<TA, TB, TR>(method, a, b));

    private async Task<TR> Call1Async<TA, TR>(string method, ServeArg<TA> a) =>
        await CallAsync<TR>(method, [MemoryPackSerializer.Serialize(await a.ResolveAsync().ConfigureAwait(false))]).ConfigureAwait(false);

    private async Task<TR> Call2Async<TA, TB, TR>(string method, ServeArg<TA> a, ServeArg<TB> b)
    {
        var va = await a.ResolveAsync().ConfigureAwait(false);
        var vb = await b.ResolveAsync().ConfigureAwait(false);
        return await CallAsync<TR>(method, [MemoryPackSerializer.Serialize(va), MemoryPackSerializer.Serialize(vb)]).ConfigureAwait(false);
    }

    private async Task<TR> CallAsync<TR>(string method, byte[][] args)
    {
        var invoker = MethodInvoker.For(typeof(T), method, args.Length);
        if (invoker.StreamItemType is not null)
            throw new ArgumentException($"{typeof(T).Name}.{method} returns an IAsyncEnumerable: call it with Stream, not Remote.");
        var bytes = await Router.CallAsync(new ReplicaCall { Method = method, Args = args }, invoker.IsSynchronous, CancellationToken.None).ConfigureAwait(false);
        return MemoryPackSerializer.Deserialize<TR>(bytes)!;
    }

    // The request names the method; the lambda must be exactly a call of it with its parameters in order.
    private static string MethodName(LambdaExpression lambda)
    {
        ArgumentNullException.ThrowIfNull(lambda);
        // A last argument of `default` for a CancellationToken parameter is allowed (expression trees
        // cannot leave optional arguments out); the replica passes its own token.
        if (lambda.Body is MethodCallExpression call && call.Object == lambda.Parameters[0] && !call.Method.IsStatic)
        {
            var n = lambda.Parameters.Count - 1;
            var tokenLast = call.Arguments.Count == n + 1 && call.Arguments[n].Type == typeof(CancellationToken) && call.Arguments[n] is ConstantExpression or DefaultExpression;
            if ((call.Arguments.Count == n || tokenLast) && Enumerable.Range(0, n).All(i => call.Arguments[i] == lambda.Parameters[i + 1]))
                return call.Method.Name;
        }
        throw new ArgumentException($"Pass a call of one of {typeof(T).Name}'s public methods with the lambda's parameters in order, as in (m, x) => m.Predict(x): the method runs on a replica.", nameof(lambda));
    }

    /// <inheritdoc />
    public override string ToString() => $"DeploymentHandle<{typeof(T).Name}>({DeploymentName})";
}
