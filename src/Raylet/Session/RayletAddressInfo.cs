using System.Text.Json.Serialization;

namespace Ray.Raylet.Session;

/// <summary>
/// The address file (<c>&lt;session&gt;/raylet.json</c>, mode 0600): how drivers, workers and the
/// CLI find and authenticate to a running raylet. Written by the raylet once it listens.
/// </summary>
public sealed record RayletAddressInfo
{
    /// <summary>The raylet's TCP address, host:port.</summary>
    public required string Address { get; init; }

    /// <summary>The cluster token (128 random bits, hex) every peer presents in Hello.</summary>
    public required string Token { get; init; }

    /// <summary>The raylet's process id.</summary>
    public required int Pid { get; init; }

    /// <summary>The node's id.</summary>
    public required string NodeId { get; init; }

    /// <summary>The session directory.</summary>
    public required string SessionDir { get; init; }

    /// <summary>The object store's Unix socket.</summary>
    public required string PlasmaSocket { get; init; }

    /// <summary>The object store's shared-memory file.</summary>
    public required string ObjectStorePath { get; init; }

    /// <summary>The raylet's log file.</summary>
    public string? LogFile { get; init; }

    /// <summary>The raylet protocol version.</summary>
    public uint ProtocolVersion { get; init; }

    /// <summary>When the raylet started listening (UTC).</summary>
    public DateTime StartedAt { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(RayletAddressInfo))]
internal sealed partial class AddressFileJsonContext : JsonSerializerContext;
