using System.Runtime.CompilerServices;

namespace Ray.Serve;

/// <summary>
/// The future result of a <see cref="DeploymentHandle{T}"/> call (Ray's <c>DeploymentResponse</c>).
/// The request is already on its way. Await it, call <see cref="Result"/>, or pass it straight
/// into another handle call: that call is sent once this one's value is there, without the
/// caller waiting.
/// </summary>
public sealed class DeploymentResponse<T>
{
    internal DeploymentResponse(Task<T> task) => Task = task;

    /// <summary>The call as a task.</summary>
    public Task<T> Task { get; }

    /// <summary>Lets <c>await response</c> work.</summary>
    public TaskAwaiter<T> GetAwaiter() => Task.GetAwaiter();

    /// <summary>Blocks for the value (Ray's <c>.result(timeout_s)</c>); the deployment's error is thrown as is.</summary>
    /// <exception cref="TimeoutException">The timeout passed first; the request goes on.</exception>
    public T Result(TimeSpan? timeout = null)
    {
        if (timeout is { } t && !Task.Wait(t)) throw new TimeoutException($"the deployment did not answer within {t.TotalSeconds:0.###} s");
        return Task.GetAwaiter().GetResult();
    }
}

/// <summary>
/// An argument of a handle call: a value, or another call's <see cref="DeploymentResponse{T}"/>
/// (converted implicitly from either), whose value is passed once it is there.
/// </summary>
public readonly struct ServeArg<T>
{
    private ServeArg(T? value, DeploymentResponse<T>? response)
    {
        Value = value;
        Response = response;
    }

    internal T? Value { get; }
    internal DeploymentResponse<T>? Response { get; }

    /// <summary>Passes a value.</summary>
    public static implicit operator ServeArg<T>(T value) => new(value, null);

    /// <summary>Passes another call's result once it is there.</summary>
    public static implicit operator ServeArg<T>(DeploymentResponse<T> response) =>
        new(default, response ?? throw new ArgumentNullException(nameof(response)));

    internal async ValueTask<T> ResolveAsync() => Response is null ? Value! : await Response.Task.ConfigureAwait(false);
}
