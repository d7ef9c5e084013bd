using Microsoft.Extensions.Logging;
using Ray.Contract.Messages;
using Ray.Raylet.Client;

namespace Ray.Raylet.Gcs;

/// <summary>
/// A joined node's link to the head: registers the node (RegisterNode), then sends a heartbeat
/// with its resources' use every <see cref="Interval"/>. A lost head is logged; the node keeps
/// serving its own drivers and workers (the head notices the node's silence and marks it dead).
/// </summary>
internal sealed class HeadLink : IAsyncDisposable
{
    /// <summary>How often a node reports to the head.</summary>
    internal static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly RayletClient _client;
    private readonly Func<NodeStatus> _self;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    private HeadLink(RayletClient client, Func<NodeStatus> self, ILogger logger)
    {
        _client = client;
        _self = self;
        _logger = logger;
    }

    /// <summary>The head's address.</summary>
    internal string HeadAddress => _client.Address;

    /// <summary>Connects to the head with the cluster token and registers this node.</summary>
    /// <exception cref="RayletException">The head refused (wrong token, not a head, the id taken).</exception>
    internal static async Task<HeadLink> JoinAsync(string headAddress, string token, Func<NodeStatus> self, ILogger logger, CancellationToken cancellationToken)
    {
        var client = await RayletClient.ConnectAsync(headAddress, token, TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        try
        {
            await client.RegisterNodeAsync(self(), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var link = new HeadLink(client, self, logger);
        link._loop = link.BeatAsync();
        return link;
    }

    private async Task BeatAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await Task.Delay(Interval, _stop.Token).ConfigureAwait(false);
                if (!_client.SendNodeHeartbeat(_self()))
                {
                    _logger.LogError("the head at {Head} closed the connection; this node no longer reports to it", HeadAddress);
                    return;
                }
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e) { _logger.LogError(e, "reporting to the head at {Head} failed", HeadAddress); }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_loop is { } loop) await loop.ConfigureAwait(false);
        await _client.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
