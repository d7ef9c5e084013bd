using System.Security.Cryptography;
using System.Text;
using MemoryPack;
using Ray.Serve.Replica;

namespace Ray.Serve.Controller;

/// <summary>
/// One deployment of one application as the controller runs it: the class, its encoded
/// constructor arguments (a bound <see cref="Application"/> becomes its deployment's key), the
/// options, and the code version that decides between an in-place update and a rolling one.
/// </summary>
internal sealed class DeploymentDef
{
    internal DeploymentDef(string key, string app, Application node, Func<Application, string> keyOf)
    {
        Key = key;
        App = app;
        Name = node.Name;
        UserType = node.DeploymentType;
        Options = node.Options;
        var args = node.Arguments;
        ArgTypes = new string[args.Count];
        Args = new byte[args.Count][];
        var deps = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case null:
                    ArgTypes[i] = "";
                    Args[i] = [];
                    break;
                case Application a:
                    var depKey = keyOf(a);
                    deps.Add(depKey);
                    ArgTypes[i] = ReplicaInit.HandlePrefix + typeof(DeploymentHandle<>).MakeGenericType(a.DeploymentType).AssemblyQualifiedName;
                    Args[i] = Encoding.UTF8.GetBytes(depKey);
                    break;
                case var v:
                    var t = v.GetType();
                    ArgTypes[i] = t.AssemblyQualifiedName!;
                    try { Args[i] = MemoryPackSerializer.Serialize(t, v); }
                    catch (Exception e) { throw new ArgumentException($"constructor argument {i + 1} of deployment '{Name}' ({t.Name}) cannot be serialized: {e.Message}", e); }
                    break;
            }
        }
        Dependencies = deps.Distinct().ToArray();
        if (Options.UserConfig is { } config)
        {
            UserConfigType = config.GetType().AssemblyQualifiedName;
            try { UserConfig = MemoryPackSerializer.Serialize(config.GetType(), config); }
            catch (Exception e) { throw new ArgumentException($"the UserConfig of deployment '{Name}' ({config.GetType().Name}) cannot be serialized: {e.Message}", e); }
        }
        Version = Options.Version ?? ComputeVersion();
        HttpMethod = FindHttpMethod(UserType);
    }

    internal string Key { get; }
    internal string App { get; }
    internal string Name { get; }
    internal Type UserType { get; }
    internal DeploymentOptions Options { get; }
    internal string[] ArgTypes { get; }
    internal byte[][] Args { get; }
    internal string[] Dependencies { get; }
    internal string? UserConfigType { get; }
    internal byte[]? UserConfig { get; }
    internal string Version { get; }
    /// <summary>The public method taking a <see cref="ServeRequest"/> (or an array of them, batched), or null. Returning IAsyncEnumerable&lt;string&gt; or &lt;byte[]&gt;, it streams.</summary>
    internal string? HttpMethod { get; }

    internal bool SameUserConfig(DeploymentDef other) =>
        UserConfigType == other.UserConfigType && (UserConfig ?? []).AsSpan().SequenceEqual(other.UserConfig ?? []);

    internal ReplicaInit MakeInit(string replicaId) => new()
    {
        DeploymentKey = Key,
        DeploymentName = Name,
        ReplicaId = replicaId,
        UserType = UserType.AssemblyQualifiedName!,
        ArgTypes = ArgTypes,
        Args = Args,
        UserConfigType = UserConfigType,
        UserConfig = UserConfig,
        MaxOngoingRequests = Options.MaxOngoingRequests,
    };

    internal RouteInfo Route => new() { Key = Key, DeploymentName = Name, MaxOngoingRequests = Options.MaxOngoingRequests, MaxQueuedRequests = Options.MaxQueuedRequests };

    // What needs new replicas: the code, the arguments and the options replicas are built with
    // (not the replica count, autoscaling or UserConfig, which change in place).
    private string ComputeVersion()
    {
        var sb = new StringBuilder();
        sb.Append(UserType.AssemblyQualifiedName).Append('|').Append(UserType.Module.ModuleVersionId).Append('|');
        for (var i = 0; i < Args.Length; i++) sb.Append(ArgTypes[i]).Append(':').Append(Convert.ToHexString(Args[i])).Append('|');
        var a = Options.ActorOptions;
        sb.Append(Options.MaxOngoingRequests).Append('|').Append(a?.NumCpus).Append('|').Append(a?.NumGpus).Append('|').Append(a?.MemoryBytes).Append('|');
        if (a?.Resources is { } rs) foreach (var (k, v) in rs.OrderBy(r => r.Key, StringComparer.Ordinal)) sb.Append(k).Append('=').Append(v).Append(',');
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())))[..12].ToLowerInvariant();
    }

    private static string? FindHttpMethod(Type t)
    {
        var found = t.GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance)
            .Where(m => m.GetParameters() is [var p] && (p.ParameterType == typeof(ServeRequest) || p.ParameterType == typeof(ServeRequest[]))
                || m.GetParameters() is [var q, var c] && q.ParameterType == typeof(ServeRequest) && c.ParameterType == typeof(CancellationToken))
            .ToArray();
        if (found.Length == 1 && found[0].ReturnType is { IsGenericType: true } r && r.GetGenericTypeDefinition() == typeof(IAsyncEnumerable<>)
            && r.GetGenericArguments()[0] != typeof(string) && r.GetGenericArguments()[0] != typeof(byte[]))
            throw new ArgumentException($"{t.Name}.{found[0].Name} streams {r.GetGenericArguments()[0].Name} items: an HTTP stream is of string or byte[] items.");
        return found.Length switch
        {
            0 => null,
            1 => found[0].Name,
            _ => throw new ArgumentException($"{t.Name} has {found.Length} public methods taking a ServeRequest ({string.Join(", ", found.Select(m => m.Name))}): the HTTP ingress method must be one."),
        };
    }
}
