namespace Ray.Plasma.Client;

/// <summary>
/// A client of the node's store: in process (<see cref="PlasmaLocalClient"/>) or over the
/// node's socket (<see cref="PlasmaClient"/>). Both hand out views into the same mapping.
/// </summary>
public interface IPlasmaClient : IAsyncDisposable
{
    /// <summary>The shared memory, mapped in this process.</summary>
    Store.PlasmaArena Arena { get; }

    /// <summary>Reserves an object; write into the returned buffer, then seal it.</summary>
    ValueTask<PlasmaWriteBuffer> CreateAsync(PlasmaObjectId id, long dataSize, uint typeTag = 0, bool pinned = true);

    /// <summary>Gets a zero-copy view, waiting up to <paramref name="timeout"/> for the seal.</summary>
    ValueTask<PlasmaBuffer> GetAsync(PlasmaObjectId id, TimeSpan timeout);

    /// <summary>True when the object is sealed in the store.</summary>
    ValueTask<bool> ContainsAsync(PlasmaObjectId id);

    /// <summary>Deletes the object (when its last view is released). False when unknown.</summary>
    ValueTask<bool> DeleteAsync(PlasmaObjectId id);

    /// <summary>The store's counters.</summary>
    ValueTask<PlasmaStats> StatsAsync();
}

/// <summary>Helpers over any client.</summary>
public static class PlasmaClientExtensions
{
    /// <summary>Creates, copies <paramref name="data"/> in and seals: one put.</summary>
    public static async ValueTask PutAsync(this IPlasmaClient client, PlasmaObjectId id, ReadOnlyMemory<byte> data, uint typeTag = 0, bool pinned = true)
    {
        var buffer = await client.CreateAsync(id, data.Length, typeTag, pinned).ConfigureAwait(false);
        try
        {
            data.Span.CopyTo(buffer.Span);
        }
        catch
        {
            await buffer.AbortAsync().ConfigureAwait(false);
            throw;
        }
        await buffer.SealAsync().ConfigureAwait(false);
    }
}
