namespace Ray.Plasma.Client;

/// <summary>Seals or aborts what a write buffer reserved.</summary>
internal interface IPlasmaSealer
{
    ValueTask SealAsync(PlasmaObjectId id);
    ValueTask AbortAsync(PlasmaObjectId id);
    void Seal(PlasmaObjectId id);
    void Abort(PlasmaObjectId id);
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

    internal PlasmaWriteBuffer(IPlasmaSealer sealer, PlasmaObjectId id, byte* data, long length)
    {
        _sealer = sealer;
        Id = id;
        _data = data;
        Length = length;
    }

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
        _sealer.Seal(Id);
    }

    /// <summary>Makes the object immutable and visible.</summary>
    public ValueTask SealAsync() =>
        Interlocked.Exchange(ref _done, 1) == 0 ? _sealer.SealAsync(Id)
            : throw new InvalidOperationException($"object {Id} was already sealed or aborted");

    /// <summary>Frees the reservation.</summary>
    public ValueTask AbortAsync() => Interlocked.Exchange(ref _done, 1) == 0 ? _sealer.AbortAsync(Id) : ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask DisposeAsync() => AbortAsync();

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _done, 1) == 0) _sealer.Abort(Id);
    }
}
