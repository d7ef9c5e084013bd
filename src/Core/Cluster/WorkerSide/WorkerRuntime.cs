using System.Reflection;
using System.Runtime.Loader;
using Ray.Objects;
using Ray.Plasma;
using Ray.Plasma.Client;

namespace Ray.Cluster.WorkerSide;

/// <summary>
/// What a worker process holds for the tasks it runs: the job's code (assemblies found on the
/// driver's code paths), a store for (de)serialization, and a client of the node's object store
/// for large arguments and results.
/// </summary>
internal sealed class WorkerRuntime : IDisposable
{
    private readonly WorkerLaunchOptions _options;
    private readonly object _plasmaLock = new();
    private PlasmaClient? _plasma;

    internal WorkerRuntime(WorkerLaunchOptions options)
    {
        _options = options;
        Serialization.Formatters.EnsureRegistered(); // arguments may hold ObjectRefs
        var runtimeOptions = new RuntimeOptions();
        Threshold = runtimeOptions.LargeObjectThresholdBytes;
        var owner = options.OwnerId != 0 ? options.OwnerId : Ray.Contract.Ids.OwnerIds.Worker(Ray.Contract.Ids.OwnerIds.RandomNodeTag(), options.WorkerId);
        Store = new MemoryStore(owner, TimeSpan.FromMicroseconds(50), 256L << 20, runtimeOptions);
        MemoryStore.WorkerArguments = Store;
        AssemblyLoadContext.Default.Resolving += Resolve;
    }

    internal MemoryStore Store { get; }
    internal long Threshold { get; }

    /// <summary>The runtime environments tasks and actors run with in this process.</summary>
    internal RuntimeEnvs.WorkerRuntimeEnvs Envs => _envs ??= new(_options.SessionDir);
    private RuntimeEnvs.WorkerRuntimeEnvs? _envs;
    internal WorkerLaunchOptions Options => _options;

    /// <summary>Loads (once) the assembly at <paramref name="path"/>, or the loaded one of the same name.</summary>
    internal Assembly LoadAssembly(string path)
    {
        var name = AssemblyName.GetAssemblyName(path);
        foreach (var a in AssemblyLoadContext.Default.Assemblies)
            if (AssemblyName.ReferenceMatchesDefinition(name, a.GetName())) return a;
        return AssemblyLoadContext.Default.LoadFromAssemblyPath(Path.GetFullPath(path));
    }

    /// <summary>Finds a type by its assembly-qualified name, loading the job's assemblies as needed.</summary>
    internal Type FindType(string assemblyQualifiedName) =>
        Type.GetType(assemblyQualifiedName, throwOnError: false)
        ?? throw new InvalidOperationException($"type {assemblyQualifiedName} is not on the job's code paths ({string.Join(", ", _options.CodePaths)})");

    // Dependencies of the job's assemblies: probe the driver's code paths.
    private Assembly? Resolve(AssemblyLoadContext context, AssemblyName name)
    {
        foreach (var dir in _options.CodePaths)
        {
            var candidate = Directory.Exists(dir) ? Path.Combine(dir, name.Name + ".dll") : dir;
            if (File.Exists(candidate) && string.Equals(Path.GetFileNameWithoutExtension(candidate), name.Name, StringComparison.OrdinalIgnoreCase))
                return context.LoadFromAssemblyPath(Path.GetFullPath(candidate));
        }
        return null;
    }

    private PlasmaClient Plasma
    {
        get
        {
            lock (_plasmaLock)
            {
                if (_plasma is not null) return _plasma;
                var socket = _options.PlasmaSocket ?? throw new InvalidOperationException("this worker has no object store socket");
                // Once per worker process, on first use (justified): the socket and the client's
                // own receive loop complete the connect and its Hello.
                _plasma = PlasmaClient.ConnectAsync(socket, Ray.Plasma.Store.PrefaultMode.Background).GetAwaiter().GetResult();
                return _plasma;
            }
        }
    }

    /// <summary>A view of an object in the node's store (an argument the driver put there).</summary>
    /// <exception cref="ObjectStoreFullException">It was spilled and cannot be restored: the store is full.</exception>
    /// <exception cref="ObjectLostException">It cannot be read (freed, or its spill file unreadable).</exception>
    internal PlasmaBuffer OpenPlasma(ObjectId id, long size)
    {
        try { return Plasma.Get(LargeObjectStore.ToPlasma(id), TimeSpan.FromSeconds(30)); }
        catch (PlasmaException e) { throw ExceptionFactory.NodeStoreFailed(id, e); }
    }

    /// <summary>Writes a large result into the node's store under the owner's id; false if there is no store.</summary>
    internal bool TryPutPlasma(ObjectId id, ReadOnlySpan<byte> bytes)
    {
        if (_options.PlasmaSocket is null) return false;
        PlasmaWriteBuffer buffer;
        try { buffer = Plasma.Create(LargeObjectStore.ToPlasma(id), bytes.Length); }
        catch (PlasmaException e) when (e.Status == PlasmaStatus.ObjectExists)
        {
            // A retry of a task whose earlier attempt sealed its result before its worker died:
            // the value is the same function's result for the same arguments; keep it.
            return true;
        }
        catch (PlasmaException e) { throw ExceptionFactory.NodeStoreFailed(id, e, bytes.Length); }
        try
        {
            bytes.CopyTo(buffer.Span);
            buffer.Seal();
        }
        catch
        {
            buffer.Dispose(); // aborts the unsealed object
            throw;
        }
        return true;
    }

    public void Dispose()
    {
        AssemblyLoadContext.Default.Resolving -= Resolve;
        // Shutdown (justified): closing the client waits only for its own loops to end.
        lock (_plasmaLock) _plasma?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
