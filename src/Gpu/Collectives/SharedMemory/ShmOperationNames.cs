namespace Ray.Gpu.Collectives.SharedMemory;

/// <summary>Turns an operation code from a peer's message header back into a name for error messages.</summary>
internal static class ShmOperationNames
{
    private static readonly string[] Known = ["AllReduce", "Reduce", "Broadcast", "AllGather", "ReduceScatter", "Barrier", "Send", "Recv"];

    public static string Name(int code)
    {
        foreach (string name in Known)
        {
            if (ShmMessageHeader.Code(name) == code)
            {
                return name;
            }
        }

        return $"operation {code:x8}";
    }
}
