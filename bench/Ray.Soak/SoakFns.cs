namespace Ray.Soak;

/// <summary>The driver's tasks during the soak (run in the raylet's worker processes).</summary>
public static class SoakFns
{
    /// <summary>A small task: one round trip through a leased worker.</summary>
    public static long Add(long a, long b) => a + b;

    /// <summary>Reads a large (shared-memory) object in the worker: its length and a checksum of a few bytes.</summary>
    public static long Sum(byte[] data) => data.Length + data[0] + data[^1];
}
