namespace Ray.Contract.Messages;

/// <summary>What a lease is for.</summary>
internal enum LeasePurpose : byte { Task = 0, Actor = 1 }
