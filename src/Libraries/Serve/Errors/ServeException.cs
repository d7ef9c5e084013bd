namespace Ray.Serve;

/// <summary>The base of Serve's errors; <see cref="HttpStatus"/> is what the proxy answers for it.</summary>
public abstract class ServeException : Exception
{
    private protected ServeException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>The HTTP status the proxy sends when a request fails with this error.</summary>
    public abstract int HttpStatus { get; }
}
