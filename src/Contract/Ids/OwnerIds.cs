using System.Globalization;
using System.Security.Cryptography;

namespace Ray.Contract.Ids;

/// <summary>
/// The one layout of an owner id, the first half of every object, task, actor and worker id:
/// <c>u32 node tag (high) | u32 owner number (low)</c>. A raylet's node tag comes from its node id
/// (<see cref="NodeTagOf"/>); the raylet hands each registered driver and each worker it starts an
/// owner id (<see cref="Driver"/>, <see cref="Worker"/>) and remembers which belong to which job,
/// so it frees a job's objects by the ids it handed out and never decodes one. An embedded runtime,
/// which has no raylet, takes a random node tag (<see cref="RandomNodeTag"/>). Ids of different
/// nodes differ in their node tag, so they never collide (up to a 32-bit tag clash).
/// </summary>
internal static class OwnerIds
{
    /// <summary>The owner-number bit that marks a worker's owner id (clear: a job's driver).</summary>
    internal const uint WorkerBit = 0x8000_0000;

    /// <summary>The owner id of <paramref name="number"/> on the node tagged <paramref name="nodeTag"/>.</summary>
    internal static ulong Compose(uint nodeTag, uint number) => ((ulong)nodeTag << 32) | number;

    /// <summary>The node tag of an owner id.</summary>
    internal static uint NodeTag(ulong owner) => (uint)(owner >> 32);

    /// <summary>The owner id a raylet gives the driver of job <paramref name="jobId"/>.</summary>
    internal static ulong Driver(uint nodeTag, uint jobId) => Compose(nodeTag, jobId & ~WorkerBit);

    /// <summary>The owner id a raylet gives its worker <paramref name="workerId"/>.</summary>
    internal static ulong Worker(uint nodeTag, uint workerId) => Compose(nodeTag, WorkerBit | workerId);

    /// <summary>
    /// The node tag of a node id: the first 8 of its 32 hex digits, never 0 (a name that is not hex,
    /// as test hosts use, gets a stable hash of it instead).
    /// </summary>
    internal static uint NodeTagOf(string nodeId)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        if (nodeId.Length < 8 || !uint.TryParse(nodeId.AsSpan(0, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var tag))
        {
            tag = 2166136261; // FNV-1a
            foreach (var c in nodeId) tag = (tag ^ c) * 16777619;
        }
        return tag == 0 ? 1 : tag;
    }

    /// <summary>A random node tag (never 0) for a runtime with no raylet.</summary>
    internal static uint RandomNodeTag()
    {
        var tag = (uint)RandomNumberGenerator.GetInt32(int.MinValue, int.MaxValue);
        return tag == 0 ? 1 : tag;
    }
}
