using Ray.Raylet.Node;

namespace Ray.Raylet.Leases;

/// <summary>
/// Which of the node's GPUs a lease uses, as Ray assigns GPU ids: a lease asking for whole GPUs
/// gets that many free ones to itself; a fraction shares the GPU with the fewest sharers. The
/// ids reach the worker (RayContext.GpuIds, CUDA_VISIBLE_DEVICES). Not thread-safe: the lease
/// manager's lock guards it.
/// </summary>
internal sealed class GpuInstances(int count)
{
    private readonly int[] _users = new int[Math.Max(0, count)];   // leases on each GPU
    private readonly bool[] _exclusive = new bool[Math.Max(0, count)];

    /// <summary>Ids for a lease asking for <paramref name="units"/> of GPU (1/10000 each); empty for none.</summary>
    internal int[] Assign(long units)
    {
        if (units <= 0 || _users.Length == 0) return [];
        var whole = (int)(units / Ray.Contract.Messages.ClusterProtocol.ResourceUnit);
        if (whole == 0)
        {
            var best = -1;
            for (var i = 0; i < _users.Length; i++)
                if (!_exclusive[i] && (best < 0 || _users[i] < _users[best])) best = i;
            if (best < 0) return []; // every GPU is held whole (resources said it fits: accounting rounds)
            _users[best]++;
            return [best];
        }
        var ids = new List<int>(whole);
        for (var i = 0; i < _users.Length && ids.Count < whole; i++)
            if (_users[i] == 0) ids.Add(i);
        foreach (var i in ids)
        {
            _users[i] = 1;
            _exclusive[i] = true;
        }
        return ids.ToArray();
    }

    internal void Release(int[] ids)
    {
        foreach (var i in ids)
        {
            if (i < 0 || i >= _users.Length || _users[i] == 0) continue;
            _users[i]--;
            if (_users[i] == 0) _exclusive[i] = false;
        }
    }
}
