namespace Ray.Serve;

/// <summary>Serve's state (Ray's <c>serve.status()</c>).</summary>
/// <param name="Applications">Every application.</param>
public sealed record ServeStatus(IReadOnlyList<ApplicationStatus> Applications);

/// <summary>One application: RUNNING, DEPLOYING, DEPLOY_FAILED, UNHEALTHY or DELETING.</summary>
/// <param name="Name">The application's name.</param>
/// <param name="RoutePrefix">Its HTTP route prefix.</param>
/// <param name="Status">Its state.</param>
/// <param name="Deployments">Its deployments.</param>
public sealed record ApplicationStatus(string Name, string RoutePrefix, string Status, IReadOnlyList<DeploymentStatus> Deployments);

/// <summary>One deployment: HEALTHY, UPDATING, UNHEALTHY, DEPLOY_FAILED or DELETING, and why.</summary>
/// <param name="Name">The deployment's name.</param>
/// <param name="Status">Its state.</param>
/// <param name="Message">The latest event (a failure, a replacement, an autoscaling decision), or empty.</param>
/// <param name="TargetReplicas">Replicas it aims for now.</param>
/// <param name="Replicas">Its replicas.</param>
public sealed record DeploymentStatus(string Name, string Status, string Message, int TargetReplicas, IReadOnlyList<ReplicaStatus> Replicas);

/// <summary>One replica: STARTING, RUNNING or STOPPING.</summary>
/// <param name="Id">The replica's id (deployment#n).</param>
/// <param name="State">Its state.</param>
/// <param name="Version">The code version it runs.</param>
/// <param name="Pid">The process it runs in (0 until it is running).</param>
/// <param name="ActorId">Its actor's id.</param>
public sealed record ReplicaStatus(string Id, string State, string Version, int Pid, string ActorId);
