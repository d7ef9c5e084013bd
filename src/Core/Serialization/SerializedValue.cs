using Ray.Objects;

namespace Ray.Serialization;

/// <summary>The bytes of one serialized value, and the objects its value refers to.</summary>
internal readonly struct SerializedValue(byte[] buffer, int length, bool pooled, ObjectEntry[]? contained)
{
    internal byte[] Buffer { get; } = buffer;
    internal int Length { get; } = length;
    /// <summary>True when <see cref="Buffer"/> came from the store's buffer pool and must go back.</summary>
    internal bool Pooled { get; } = pooled;
    internal ObjectEntry[]? Contained { get; } = contained;
    internal ReadOnlySpan<byte> Span => new(Buffer, 0, Length);
}
