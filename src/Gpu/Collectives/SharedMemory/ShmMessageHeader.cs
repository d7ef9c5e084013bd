using System.Runtime.InteropServices;

namespace Ray.Gpu.Collectives.SharedMemory;

/// <summary>
/// The 64 bytes in front of every message in a ring: what the sender was doing, so the receiver
/// can fail the group with <see cref="CollectiveErrorKind.Mismatch"/> instead of misreading data.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
internal struct ShmMessageHeader
{
    public long Sequence;
    public long Length;
    public int OperationCode;
    public int TypeCode;
    public int ElementSize;

    public readonly long PayloadBytes => Length * ElementSize;

    /// <summary>A stable code for a name (FNV-1a): the same in every process.</summary>
    public static int Code(string name)
    {
        uint hash = 2166136261;
        foreach (char c in name)
        {
            hash = (hash ^ c) * 16777619;
        }

        return (int)hash;
    }
}

/// <summary>The stable type code and name of <typeparamref name="T"/>, computed once.</summary>
internal static class ShmType<T>
{
    public static readonly string Name = typeof(T).Name;
    public static readonly int Code = ShmMessageHeader.Code(typeof(T).FullName ?? typeof(T).Name);
}
