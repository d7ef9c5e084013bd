namespace Ray.Protocol;

/// <summary>
/// How a <see cref="FramedConnection"/> receives, chosen at construction:
/// <see cref="Async"/>, a loop on the thread pool (servers with thousands of connections), or
/// <see cref="Thread"/>, a dedicated thread that spins before it blocks and lets waiting callers
/// read their own replies (the latency-critical clients: a wake-up costs tens of microseconds).
/// </summary>
internal sealed class ReceiveDriver
{
    private ReceiveDriver(TimeSpan spin, string? threadName)
    {
        Spin = spin;
        SpinTicks = (long)(spin.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        ThreadName = threadName;
    }

    /// <summary>An async receive loop on the thread pool; no thread of its own while idle.</summary>
    internal static ReceiveDriver Async { get; } = new(TimeSpan.Zero, null);

    /// <summary>
    /// A dedicated receive thread named <paramref name="name"/> that watches the socket for
    /// <paramref name="spin"/> before it blocks in the kernel (zero: blocks at once).
    /// </summary>
    internal static ReceiveDriver Thread(TimeSpan spin, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (spin < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(spin), spin, "the spin time cannot be negative");
        return new ReceiveDriver(spin, name);
    }

    /// <summary>How long the receive thread watches the socket before it blocks.</summary>
    internal TimeSpan Spin { get; }

    /// <summary><see cref="Spin"/> in <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
    internal long SpinTicks { get; }

    /// <summary>The receive thread's name; null for the async loop.</summary>
    internal string? ThreadName { get; }

    /// <summary>True for a dedicated receive thread.</summary>
    internal bool IsThread => ThreadName is not null;

    /// <summary>Bytes asked of the socket per read (and the receive pipe's segment size): large for the hot clients, small for servers of many idle connections.</summary>
    internal int ReadSize => IsThread ? 64 * 1024 : 4096;
}
