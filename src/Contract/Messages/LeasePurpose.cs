namespace Ray.Contract.Messages;

/// <summary>What a lease is for.</summary>
internal enum LeasePurpose : byte
{
    Task = 0,
    Actor = 1,
    /// <summary>On the wire only: an actor that outlives its job (the raylet keeps its worker when the job ends).</summary>
    DetachedActor = 2,
}
