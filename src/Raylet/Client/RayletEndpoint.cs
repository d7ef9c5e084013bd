using System.Globalization;
using System.Net;

namespace Ray.Raylet.Client;

/// <summary>Parses raylet addresses: <c>host:port</c>, <c>[v6]:port</c>.</summary>
public static class RayletEndpoint
{
    /// <summary>Splits <paramref name="address"/> into host and port.</summary>
    /// <exception cref="FormatException">Not host:port with a port in 1..65535.</exception>
    public static (string Host, int Port) Parse(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || colon == address.Length - 1)
            throw new FormatException($"'{address}' is not a raylet address; expected host:port, e.g. 127.0.0.1:6379");
        var host = address[..colon];
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        if (!int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            throw new FormatException($"'{address}' has no valid port (1..65535)");
        return (host, port);
    }

    /// <summary>Resolves <paramref name="address"/> to endpoints (IP literals without DNS).</summary>
    public static async Task<IPEndPoint[]> ResolveAsync(string address, CancellationToken cancellationToken = default)
    {
        var (host, port) = Parse(address);
        if (IPAddress.TryParse(host, out var ip)) return [new IPEndPoint(ip, port)];
        var ips = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        if (ips.Length == 0) throw new FormatException($"'{host}' resolves to no address");
        return ips.Select(a => new IPEndPoint(a, port)).ToArray();
    }
}
