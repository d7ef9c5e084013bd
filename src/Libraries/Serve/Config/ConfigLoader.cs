using System.Reflection;
using System.Runtime.Loader;

namespace Ray.Serve;

/// <summary>Builds the <see cref="Application"/> an <see cref="ApplicationConfig"/> names, with its overrides applied.</summary>
internal static class ConfigLoader
{
    internal static Application Build(ApplicationConfig config, string baseDirectory)
    {
        var split = config.ImportPath.LastIndexOf(':');
        var path = Path.GetFullPath(config.ImportPath[..split], baseDirectory);
        var member = config.ImportPath[(split + 1)..];
        var dot = member.LastIndexOf('.');
        if (dot <= 0) throw new FormatException($"application '{config.Name}': import_path member '{member}' must be Namespace.Type.Member");
        if (!File.Exists(path)) throw new FormatException($"application '{config.Name}': assembly '{path}' does not exist");
        var assembly = Load(path);
        var type = assembly.GetType(member[..dot]) ?? throw new FormatException($"application '{config.Name}': type '{member[..dot]}' is not in {assembly.GetName().Name}");
        var name = member[(dot + 1)..];
        const BindingFlags flags = BindingFlags.Public | BindingFlags.Static;
        object? value;
        if (type.GetProperty(name, flags) is { } p) value = p.GetValue(null);
        else if (type.GetField(name, flags) is { } f) value = f.GetValue(null);
        else if (type.GetMethod(name, flags, Type.EmptyTypes) is { } m) value = m.Invoke(null, null);
        else if (type.GetMethod(name, flags, [typeof(IReadOnlyDictionary<string, string>)]) is { } ma)
            value = ma.Invoke(null, [(IReadOnlyDictionary<string, string>)(config.Args ?? new Dictionary<string, string>())]);
        else throw new FormatException($"application '{config.Name}': {type.Name} has no public static property, field or method '{name}'");
        if (value is not Application app) throw new FormatException($"application '{config.Name}': {type.Name}.{name} gave {value?.GetType().Name ?? "null"}, not an Application (Serve.Deployment<T>().Bind(...))");

        var overrides = config.Deployments.ToDictionary(d => d.Name, StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var result = app.WithOptions((n, o) => { names.Add(n); return overrides.TryGetValue(n, out var d) ? d.Apply(o) : o; });
        foreach (var unknown in overrides.Keys.Except(names))
            throw new FormatException($"application '{config.Name}' has no deployment '{unknown}' (it has {string.Join(", ", names)})");
        return result;
    }

    // The same assembly loaded twice would make two copies of its types: reuse a loaded one.
    private static Assembly Load(string path)
    {
        var name = AssemblyName.GetAssemblyName(path);
        foreach (var a in AssemblyLoadContext.Default.Assemblies)
            if (AssemblyName.ReferenceMatchesDefinition(name, a.GetName())) return a;
        return AssemblyLoadContext.Default.LoadFromAssemblyPath(path);
    }
}
