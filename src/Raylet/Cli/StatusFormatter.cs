using System.Globalization;
using System.Text;
using Ray.Contract.Messages;
using Ray.Raylet.Node;

namespace Ray.Raylet.Cli;

/// <summary>Formats a status report for <c>ray status</c>, in the shape of Ray's.</summary>
internal static class StatusFormatter
{
    private const string Rule = "---------------------------------------------------------------";

    internal static string Format(RayletStatusReport report, string address)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.Append("======== Cluster status: ").Append(address).AppendLine(" ========");
        sb.Append("Session: ").AppendLine(report.SessionDir);
        sb.Append("Uptime: ").AppendLine(report.Uptime.ToString(report.Uptime.TotalDays >= 1 ? @"d\.hh\:mm\:ss" : @"hh\:mm\:ss", inv));
        sb.AppendLine();
        sb.AppendLine("Node status").AppendLine(Rule);
        var alive = report.Nodes.Count(n => n.Alive);
        sb.Append("Nodes: ").Append(report.Nodes.Count.ToString(inv)).Append(" (").Append(alive.ToString(inv)).AppendLine(" alive)");
        foreach (var n in report.Nodes)
            sb.Append(' ').Append(n.NodeId).Append(' ').Append(n.Address).Append(" (").Append(n.IsHead ? "head" : "worker").Append(", ").Append(n.Alive ? "alive" : "dead").AppendLine(")");
        sb.AppendLine();
        sb.AppendLine("Resources").AppendLine(Rule);
        sb.AppendLine("Usage (used/total):");
        // Cluster totals over alive nodes, in the order the first node lists them.
        var order = new List<string>();
        var sums = new Dictionary<string, (double Used, double Total)>(StringComparer.Ordinal);
        foreach (var node in report.Nodes.Where(n => n.Alive))
        {
            foreach (var r in node.Resources)
            {
                if (!sums.TryGetValue(r.Name, out var s)) { order.Add(r.Name); s = (0, 0); }
                sums[r.Name] = (s.Used + r.Used, s.Total + r.Total);
            }
        }
        if (order.Count == 0) sb.AppendLine(" (no resources)");
        foreach (var name in order)
        {
            var (used, total) = sums[name];
            var isBytes = name is NodeResources.Memory or NodeResources.ObjectStoreMemory;
            sb.Append(' ').Append(isBytes ? Bytes(used) : Amount(used)).Append('/').Append(isBytes ? Bytes(total) : Amount(total)).Append(' ').AppendLine(name);
        }
        if (report.PlacementGroups.Count > 0)
        {
            // Ray shows bundle resources as CPU_group_<pg>; here each group with its bundles: used/total.
            sb.AppendLine();
            sb.Append("Placement groups: ").AppendLine(report.PlacementGroups.Count.ToString(inv));
            foreach (var g in report.PlacementGroups)
            {
                sb.Append(' ').Append(g.Spec.IdText);
                if (g.Spec.Name.Length > 0) sb.Append(" '").Append(g.Spec.Name).Append('\'');
                sb.Append(' ').Append(g.State switch { 0 => "PENDING", 1 => "CREATED", _ => "REMOVED" }).Append(' ').Append(g.Spec.StrategyName)
                  .Append(g.Spec.Detached ? " detached" : "").Append(" (job ").Append(g.JobId.ToString(inv)).AppendLine(")");
                for (var b = 0; b < g.Usage.Count; b++)
                {
                    sb.Append("  bundle ").Append(b.ToString(inv)).Append(':');
                    foreach (var r in g.Usage[b])
                    {
                        var isBytes = r.Name is NodeResources.Memory or NodeResources.ObjectStoreMemory;
                        sb.Append(' ').Append(isBytes ? Bytes(r.Used) : Amount(r.Used)).Append('/').Append(isBytes ? Bytes(r.Total) : Amount(r.Total)).Append(' ').Append(r.Name);
                    }
                    sb.AppendLine();
                }
            }
        }
        sb.AppendLine();
        sb.Append("Jobs: ").AppendLine(report.Jobs.ToString(inv));
        sb.Append("Workers: ").Append(report.Workers.ToString(inv)).Append(" (").Append(report.IdleWorkers.ToString(inv)).Append(" idle, ")
          .Append(report.Leases.ToString(inv)).AppendLine(" leased)");
        sb.Append("Queued tasks: ").Append(report.QueuedTasks.ToString(inv)).AppendLine(" (lease requests waiting for resources or a worker)");
        sb.Append("Objects: ").Append(report.Objects.ToString(inv)).Append(" (").Append(Bytes(report.ObjectStoreUsedBytes)).Append(" of ")
          .Append(Bytes(report.ObjectStoreCapacityBytes)).Append(" shared memory used, ").Append(Bytes(report.SpilledBytes)).AppendLine(" spilled)");
        sb.Append("Clients: ").AppendLine(report.Clients.ToString(inv));
        return sb.ToString();
    }

    internal static string Amount(double v) => v.ToString("0.0###", CultureInfo.InvariantCulture);

    internal static string Bytes(double bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        var i = 0;
        while (bytes >= 1024 && i < units.Length - 1) { bytes /= 1024; i++; }
        return i == 0 ? bytes.ToString("0", CultureInfo.InvariantCulture) + "B" : bytes.ToString("0.00", CultureInfo.InvariantCulture) + units[i];
    }
}
