namespace Ray.Contract.Messages;

/// <summary>A driver's job registration.</summary>
internal sealed record JobRegistration(int DriverPid, string JobName, IReadOnlyList<string> CodePaths, bool Nested = false);
