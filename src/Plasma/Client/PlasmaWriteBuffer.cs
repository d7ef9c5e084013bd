namespace Ray.Plasma.Client;

/// <summary>Seals or aborts what a write buffer reserved.</summary>
internal interface IPlasmaSealer
{
    ValueTask SealAsync(PlasmaWriteBuffer buffer);
    ValueTask AbortAsync(PlasmaWriteBuffer buffer);
    void Seal(PlasmaWriteBuffer buffer);
    void Abort(PlasmaWriteBuffer buffer);

    /// <summary>Seals and returns a view that holds the creator's reference, or null after a plain seal where that would cost a request.</summary>
    PlasmaBuffer? SealKeepingView(PlasmaWriteBuffer buffer);
}

/// <summary>
/// The writable bytes of an object just created. Write, then <see cref="SealAsync"/>; disposing
/// without sealing aborts it, so a failed writer leaves no reservation behind.
/// </summary>
public sealed unsafe class PlasmaWriteBuffer : IAsyncDisposable, IDisposable
{
    private readonly IPlasmaSealer _sealer;
    private readonly byte* _data;
    private int _done;

    internal PlasmaWriteBuffer(IPlasmaSealer sealer, PlasmaObjectId id, byte* data, long length, object? slot = null)
    {
        _sealer = sealer;
        Id = id;
        _data = data;
        Length = length;
        Slot = slot;
    }

    /// <summary>The sealer's own record of this reservation (a region's block), or null.</summary>
    internal object? Slot { get; }

    /// <summary>True when the bytes lie in a region of the client's (sealed with a one-way message, no round trip).</summary>
    public bool InRegion => Slot is not null;

    /// <summary>The object's id.</summary>
    public PlasmaObjectId Id { get; }

    /// <summary>Bytes reserved.</summary>
    public long Length { get; }

    /// <summary>The bytes to write.</summary>
    public Span<byte> Span
    {
        get
        {
            if (Volatile.Read(ref _done) != 0) throw new ObjectDisposedException(nameof(PlasmaWriteBuffer), $"object {Id} was sealed or aborted");
            return new Span<byte>(_data, checked((int)Length));
        }
    }

    /// <summary>The address of the bytes in this process.</summary>
    public nint Pointer => (nint)_data;

    /// <summary>Makes the object immutable and visible; returns when the store has sealed it.</summary>
    public void Seal()
    {
        if (Interlocked.Exchange(ref _done, 1) != 0) throw new InvalidOperationException($"object {Id} was already sealed or aborted");
        _sealer.Seal(this);
    }

    /// <summary>
    /// Seals, keeping the creator's read reference when that costs no request (a buffer in a
    /// region): returns a view holding it, which the caller disposes like any view. Otherwise
    /// seals as <see cref="Seal"/> does and returns null.
    /// </summary>
    public PlasmaBuffer? SealKeepingView()
    {
        if (Interlocked.Exchange(ref _done, 1) != 0) throw new InvalidOperationException($"object {Id} was already sealed or aborted");
        return _sealer.SealKeepingView(this);
    }

    /// <summary>Makes the object immutable and visible.</summary>
    public ValueTask SealAsync() =>
        Interlocked.Exchange(ref _done, 1) == 0 ? _sealer.SealAsync(this)
            : throw new InvalidOperationException($"object {Id} was already sealed or aborted");

    /// <summary>Frees the reservation.</summary>
    public ValueTask AbortAsync() => Interlocked.Exchange(ref _done, 1) == 0 ? _sealer.AbortAsync(this) : ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask DisposeAsync() => AbortAsync();

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _done, 1) == 0) _sealer.Abort(this);
    }
}
