using ILGPU.Runtime;
using Ray.Plasma;

namespace Ray.Gpu.Devices;

/// <summary>
/// The Plasma GPU hook over ILGPU's page-lock API: registers host memory (a Plasma object or the
/// whole arena) with the driver so device copies go straight from it. On the CPU accelerator the
/// page lock is a no-op scope, which keeps the same code path testable without a GPU.
/// </summary>
public sealed class IlgpuDevicePinner : IDevicePinner
{
    private readonly Accelerator _accelerator;
    private long _activePins;

    /// <summary>Creates a pinner bound to <paramref name="context"/>'s accelerator (not owned).</summary>
    public IlgpuDevicePinner(GpuContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _accelerator = context.Accelerator;
    }

    /// <inheritdoc />
    public IDisposable Pin(nint address, long length)
    {
        if (address == 0)
        {
            throw new ArgumentException("Cannot pin a null address.", nameof(address));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        // The memory is already pinned (Plasma maps it at a fixed address); this only page-locks it.
        PageLockScope<byte> scope = _accelerator.CreatePageLockFromPinned<byte>(address, length);
        Interlocked.Increment(ref _activePins);
        return new Lease(this, scope);
    }

    /// <summary>Page locks taken through this pinner and not yet undone (lifetime checks, diagnostics).</summary>
    public long ActivePins => Interlocked.Read(ref _activePins);

    /// <summary>Undoes one page lock, once.</summary>
    private sealed class Lease(IlgpuDevicePinner owner, PageLockScope<byte> scope) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                scope.Dispose();
                Interlocked.Decrement(ref owner._activePins);
            }
        }
    }
}
