using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Ray.Serve;

/// <summary>
/// A declarative Serve config (Ray's <c>serve deploy config.yaml</c> schema, the parts that apply
/// here): applications, each built by a static member of an assembly, with per-deployment
/// overrides. Read with <see cref="Parse"/> from YAML or JSON.
/// <code>
/// applications:
///   - name: greeter
///     route_prefix: /greet
///     import_path: bin/MyModels.dll:MyModels.Apps.Greeter   # a public static property, field or method returning an Application
///     deployments:
///       - name: Greeter
///         num_replicas: 2
/// </code>
/// </summary>
public sealed class ServeConfig
{
    /// <summary>The applications; a PUT of the config replaces the whole set.</summary>
    public List<ApplicationConfig> Applications { get; set; } = new();

    /// <summary>Reads a config from YAML (JSON is YAML too).</summary>
    /// <exception cref="FormatException">The text is not a valid config (the message says where).</exception>
    public static ServeConfig Parse(string yaml)
    {
        var d = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();
        ServeConfig? c;
        try { c = d.Deserialize<ServeConfig>(yaml); }
        catch (YamlDotNet.Core.YamlException e) { throw new FormatException($"serve config: {e.Message} (line {e.Start.Line}, column {e.Start.Column})", e); }
        c ??= new ServeConfig();
        c.Validate();
        return c;
    }

    internal void Validate()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var a in Applications)
        {
            if (string.IsNullOrWhiteSpace(a.Name)) throw new FormatException("serve config: an application has no name");
            if (!names.Add(a.Name)) throw new FormatException($"serve config: application '{a.Name}' appears twice");
            if (string.IsNullOrWhiteSpace(a.ImportPath) || !a.ImportPath.Contains(':'))
                throw new FormatException($"serve config: application '{a.Name}' needs import_path 'path/to/Assembly.dll:Namespace.Type.Member'");
            if (!a.RoutePrefix.StartsWith('/')) throw new FormatException($"serve config: application '{a.Name}': route_prefix '{a.RoutePrefix}' must start with '/'");
        }
    }
}

/// <summary>One application of a <see cref="ServeConfig"/>.</summary>
public sealed class ApplicationConfig
{
    /// <summary>The application's name.</summary>
    public string Name { get; set; } = "";

    /// <summary>Its HTTP route prefix (default "/").</summary>
    public string RoutePrefix { get; set; } = "/";

    /// <summary>
    /// <c>path/to/Assembly.dll:Namespace.Type.Member</c>: a public static property, field or
    /// parameterless method returning an <see cref="Application"/> (or one taking
    /// <c>IReadOnlyDictionary&lt;string, string&gt;</c>, given <see cref="Args"/>). A relative path is
    /// taken from the config file's folder (the API's: the server's working directory).
    /// </summary>
    public string ImportPath { get; set; } = "";

    /// <summary>Arguments for a builder method (Ray's <c>args</c>).</summary>
    public Dictionary<string, string>? Args { get; set; }

    /// <summary>Option overrides for deployments of the application, by name.</summary>
    public List<DeploymentConfig> Deployments { get; set; } = new();
}

/// <summary>Option overrides for one deployment (unset fields keep the code's options).</summary>
public sealed class DeploymentConfig
{
    /// <summary>The deployment's name.</summary>
    public string Name { get; set; } = "";
    /// <summary>Overrides <see cref="DeploymentOptions.NumReplicas"/>.</summary>
    public int? NumReplicas { get; set; }
    /// <summary>Overrides <see cref="DeploymentOptions.MaxOngoingRequests"/>.</summary>
    public int? MaxOngoingRequests { get; set; }
    /// <summary>Overrides <see cref="DeploymentOptions.MaxQueuedRequests"/>.</summary>
    public int? MaxQueuedRequests { get; set; }
    /// <summary>Overrides <see cref="DeploymentOptions.HealthCheckPeriod"/>, in seconds.</summary>
    public double? HealthCheckPeriodS { get; set; }
    /// <summary>Overrides <see cref="DeploymentOptions.HealthCheckTimeout"/>, in seconds.</summary>
    public double? HealthCheckTimeoutS { get; set; }
    /// <summary>Overrides <see cref="DeploymentOptions.GracefulShutdownTimeout"/>, in seconds.</summary>
    public double? GracefulShutdownTimeoutS { get; set; }
    /// <summary>Overrides <see cref="DeploymentOptions.Version"/>.</summary>
    public string? Version { get; set; }
    /// <summary>Sets <see cref="DeploymentOptions.Autoscaling"/> (fields in Ray's names and units).</summary>
    public AutoscalingConfigYaml? AutoscalingConfig { get; set; }

    internal DeploymentOptions Apply(DeploymentOptions o) => o with
    {
        NumReplicas = NumReplicas ?? o.NumReplicas,
        MaxOngoingRequests = MaxOngoingRequests ?? o.MaxOngoingRequests,
        MaxQueuedRequests = MaxQueuedRequests ?? o.MaxQueuedRequests,
        HealthCheckPeriod = HealthCheckPeriodS is { } p ? TimeSpan.FromSeconds(p) : o.HealthCheckPeriod,
        HealthCheckTimeout = HealthCheckTimeoutS is { } t ? TimeSpan.FromSeconds(t) : o.HealthCheckTimeout,
        GracefulShutdownTimeout = GracefulShutdownTimeoutS is { } g ? TimeSpan.FromSeconds(g) : o.GracefulShutdownTimeout,
        Version = Version ?? o.Version,
        Autoscaling = AutoscalingConfig?.ToConfig() ?? o.Autoscaling,
    };
}

/// <summary>Ray's <c>autoscaling_config</c> as written in a config file (seconds).</summary>
public sealed class AutoscalingConfigYaml
{
    /// <summary>Ray's min_replicas.</summary>
    public int MinReplicas { get; set; } = 1;
    /// <summary>Ray's max_replicas.</summary>
    public int MaxReplicas { get; set; } = 1;
    /// <summary>Ray's initial_replicas.</summary>
    public int? InitialReplicas { get; set; }
    /// <summary>Ray's target_ongoing_requests.</summary>
    public double TargetOngoingRequests { get; set; } = 2;
    /// <summary>Ray's upscale_delay_s.</summary>
    public double UpscaleDelayS { get; set; } = 30;
    /// <summary>Ray's downscale_delay_s.</summary>
    public double DownscaleDelayS { get; set; } = 600;
    /// <summary>Ray's metrics_interval_s.</summary>
    public double MetricsIntervalS { get; set; } = 10;
    /// <summary>Ray's look_back_period_s.</summary>
    public double LookBackPeriodS { get; set; } = 30;

    internal AutoscalingConfig ToConfig() => new()
    {
        MinReplicas = MinReplicas,
        MaxReplicas = MaxReplicas,
        InitialReplicas = InitialReplicas,
        TargetOngoingRequests = TargetOngoingRequests,
        UpscaleDelay = TimeSpan.FromSeconds(UpscaleDelayS),
        DownscaleDelay = TimeSpan.FromSeconds(DownscaleDelayS),
        MetricsInterval = TimeSpan.FromSeconds(MetricsIntervalS),
        LookBackPeriod = TimeSpan.FromSeconds(LookBackPeriodS),
    };
}
