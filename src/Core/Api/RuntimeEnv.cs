namespace Ray;

/// <summary>
/// A runtime environment (Ray's <c>runtime_env</c>): environment variables and a working
/// directory that a job's, a task's or an actor's code runs with in worker processes. Set it on
/// <see cref="RuntimeOptions.RuntimeEnv"/> (the job's), <see cref="TaskOptions.RuntimeEnv"/> or
/// <see cref="ActorOptions.RuntimeEnv"/>; a task's or actor's is merged over the job's (its
/// variables override the job's by name, its working directory replaces the job's).
///
/// The working directory is read when first used, packed, sent to the worker processes that need
/// it and unpacked once per node under the session directory, named by a hash of its contents
/// (<c>runtime_resources/working_dir/&lt;hash&gt;</c>); the task runs with that copy as its current
/// directory, so relative paths in user code find the files. Variables are set in the worker's
/// .NET environment (<see cref="Environment.GetEnvironmentVariable(string)"/> and child processes
/// see them) for the task or, for an actor, for its whole life.
///
/// An embedded runtime runs tasks in the calling process, where one task's environment would
/// leak into every other: there, only the job's variables are accepted (set on the process at
/// start), and a task's or actor's environment, or a working directory, is refused with
/// <see cref="NotSupportedException"/>.
/// </summary>
public sealed record RuntimeEnv
{
    /// <summary>Most bytes a working directory may hold (Ray's default package limit is of this order).</summary>
    public const long MaxWorkingDirBytes = 64L << 20;

    /// <summary>Environment variables to set (names must be non-empty and contain no '=' or NUL).</summary>
    public IReadOnlyDictionary<string, string>? EnvVars { get; init; }

    /// <summary>A local directory whose contents the code runs in (its current directory), at most <see cref="MaxWorkingDirBytes"/>.</summary>
    public string? WorkingDir { get; init; }

    /// <summary>True when nothing is set.</summary>
    public bool IsEmpty => (EnvVars is null || EnvVars.Count == 0) && WorkingDir is null;

    /// <summary><paramref name="own"/> over <paramref name="parent"/>: variables merged by name (own wins), own working directory if set.</summary>
    internal static RuntimeEnv? Merge(RuntimeEnv? parent, RuntimeEnv? own)
    {
        if (own is null || own.IsEmpty) return parent is null || parent.IsEmpty ? null : parent;
        if (parent is null || parent.IsEmpty) return own;
        Dictionary<string, string>? vars = null;
        if (parent.EnvVars is { Count: > 0 } || own.EnvVars is { Count: > 0 })
        {
            vars = new Dictionary<string, string>(StringComparer.Ordinal);
            if (parent.EnvVars is { } p) foreach (var (k, v) in p) vars[k] = v;
            if (own.EnvVars is { } o) foreach (var (k, v) in o) vars[k] = v;
        }
        return new RuntimeEnv { EnvVars = vars, WorkingDir = own.WorkingDir ?? parent.WorkingDir };
    }

    /// <summary>Refuses bad names and values and a working directory that does not exist.</summary>
    internal void Validate(string what, string paramName)
    {
        if (EnvVars is { } vars)
        {
            foreach (var (name, value) in vars)
            {
                if (string.IsNullOrEmpty(name) || name.Contains('=') || name.Contains('\0'))
                    ExceptionFactory.ThrowArgument($"{what}: runtime environment variable name '{name}' is empty or contains '=' or NUL.", paramName);
                if (value is null || value.Contains('\0'))
                    ExceptionFactory.ThrowArgument($"{what}: runtime environment variable '{name}' has a null value or one containing NUL.", paramName);
            }
        }
        if (WorkingDir is { } dir)
        {
            if (string.IsNullOrWhiteSpace(dir))
                ExceptionFactory.ThrowArgument($"{what}: the runtime environment's WorkingDir is empty (leave it null for none).", paramName);
            if (!Directory.Exists(dir))
                throw new DirectoryNotFoundException($"{what}: the runtime environment's WorkingDir '{dir}' does not exist or is not a directory.");
        }
    }
}
