namespace Ray.Contract.Messages;

/// <summary>
/// Where a worker finds a function (<see cref="ClusterMessageKind.DefineFunction"/>), before its first
/// use on a connection.
/// </summary>
/// <param name="Index">The connection's number for the function.</param>
/// <param name="AssemblyPath">The assembly file.</param>
/// <param name="TypeName">The declaring type, assembly-qualified.</param>
/// <param name="MetadataToken">The method's metadata token.</param>
/// <param name="MethodName">The method's name (checked against the token).</param>
internal readonly record struct FunctionDefinition(uint Index, string AssemblyPath, string TypeName, int MetadataToken, string MethodName);
