namespace Ray.Contract.Session;

/// <summary>Where a driver or the CLI connects, and how it authenticates.</summary>
/// <param name="Address">The raylet's host:port.</param>
/// <param name="Token">The cluster token, or null when none was found.</param>
/// <param name="AddressFile">The address file the address came from, or null for a bare host:port.</param>
internal readonly record struct ResolvedAddress(string Address, string? Token, string? AddressFile)
{
    /// <summary>The session directory of <see cref="AddressFile"/>, or null.</summary>
    internal string? SessionDir => AddressFile is null ? null : Path.GetDirectoryName(AddressFile);
}
