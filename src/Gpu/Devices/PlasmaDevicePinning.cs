using Ray.Plasma.Client;
using Ray.Plasma.Store;

namespace Ray.Gpu.Devices;

/// <summary>
/// Wires Plasma's GPU hook to a device: page-locks a store's whole arena (every object, present
/// and future, in one registration) or one object's bytes, through the context's
/// <see cref="GpuContext.DevicePinner"/>, so device copies from and to Plasma memory need no
/// staging. Unpinning follows Plasma's rules: disposing the returned handle, disposing the store
/// (arena), or releasing the view (object), whichever comes first.
/// </summary>
public static class PlasmaDevicePinning
{
    /// <summary>Page-locks <paramref name="store"/>'s arena for <paramref name="context"/>'s device.</summary>
    public static IDisposable PinArenaForDevice(this PlasmaStore store, GpuContext context)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(context);
        return store.PinArena(context.DevicePinner);
    }

    /// <summary>Page-locks the bytes of one sealed object's view for <paramref name="context"/>'s device.</summary>
    public static IDisposable PinForDevice(this PlasmaBuffer view, GpuContext context)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(context);
        return view.PinForDevice(context.DevicePinner);
    }
}
