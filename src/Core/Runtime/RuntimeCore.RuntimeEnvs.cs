using System.Runtime.CompilerServices;
using Ray.RuntimeEnvs;

namespace Ray.Runtime;

// Runtime environments: checked where options are first used, prepared once per distinct
// environment for worker processes; an embedded runtime takes only the job's variables.
internal sealed partial class RuntimeCore
{
    private readonly ConditionalWeakTable<TaskOptions, StrongBox<PreparedRuntimeEnv?>> _envByOptions = new();
    private PreparedRuntimeEnv? _jobEnv;

    /// <summary>At start: the job's environment checked; embedded, its variables set on this process.</summary>
    private void InitRuntimeEnv()
    {
        if (Options.RuntimeEnv is not { IsEmpty: false } env) return;
        env.Validate(nameof(RuntimeOptions), nameof(Options));
        if (Cluster is not null)
        {
            _jobEnv = PreparedRuntimeEnv.For(env);
            return;
        }
        if (env.WorkingDir is not null)
            throw new NotSupportedException("RuntimeOptions.RuntimeEnv.WorkingDir needs worker processes: an embedded runtime runs tasks in this process, whose current directory it will not change. Connect to a cluster (RayRuntime.Connect), or set the directory yourself.");
        if (env.EnvVars is { } vars) foreach (var (k, v) in vars) Environment.SetEnvironmentVariable(k, v);
    }

    /// <summary>Checks a task's or actor's own environment where its options are first used (submission fails, not the task).</summary>
    private void CheckRuntimeEnv(RuntimeEnv? own, string what)
    {
        if (own is not { IsEmpty: false }) return;
        if (Cluster is null)
            throw new NotSupportedException($"{what}: a runtime environment per task or actor needs worker processes; an embedded runtime runs every task in this process, where one task's variables or directory would reach all others. Connect to a cluster (RayRuntime.Connect), or set job-wide variables with RuntimeOptions.RuntimeEnv.");
        own.Validate(what, "options");
        _ = EnvFor(own); // packs the working directory now: too large or unreadable fails the call
    }

    /// <summary>The environment a task with <paramref name="options"/> runs with in a worker (null: none).</summary>
    internal PreparedRuntimeEnv? EnvFor(TaskOptions options)
    {
        if (WorkerRuntimeEnvs.InForce is { } parent) return InheritedEnvFor(parent, options.RuntimeEnv);
        if (options.RuntimeEnv is null) return _jobEnv;
        return _envByOptions.GetValue(options, o => new StrongBox<PreparedRuntimeEnv?>(EnvFor(o.RuntimeEnv))).Value;
    }

    // In a worker whose task or actor runs in an environment: children inherit it (Ray's rule),
    // their own merged over it. Prepared once per distinct result (PreparedRuntimeEnv caches).
    private static PreparedRuntimeEnv InheritedEnvFor(WorkerRuntimeEnvs.Defined parent, RuntimeEnv? own) =>
        own is not { IsEmpty: false } ? parent.Prepared : PreparedRuntimeEnv.For(RuntimeEnv.Merge(parent.AsRuntimeEnv, own)!);

    /// <summary><paramref name="own"/> merged over the job's, prepared (null: none).</summary>
    internal PreparedRuntimeEnv? EnvFor(RuntimeEnv? own)
    {
        if (WorkerRuntimeEnvs.InForce is { } parent) return InheritedEnvFor(parent, own);
        if (own is not { IsEmpty: false }) return _jobEnv;
        return RuntimeEnv.Merge(Options.RuntimeEnv, own) is { } merged ? PreparedRuntimeEnv.For(merged) : null;
    }
}
