namespace Ray.Plasma;

/// <summary>
/// The GPU hook: page-locks host memory so device copies go straight from (or to) the arena,
/// without a staging copy. Ray.Gpu implements it with ILGPU's page-lock API; the store only
/// decides what to pin and when to unpin.
/// </summary>
public interface IDevicePinner
{
    /// <summary>Page-locks <paramref name="length"/> bytes at <paramref name="address"/>; disposing the result unpins them.</summary>
    IDisposable Pin(nint address, long length);
}
