using System.Collections.Concurrent;
using Ray.Protocol;

namespace Ray.Raylet.Tests;

/// <summary>The pending-handshake pool and the log throttle on their own (no sockets: the policy only).</summary>
public class HandshakeGateTests
{
    private sealed class Peer(int n)
    {
        public int N { get; } = n;
        public volatile bool Unread;
        public override string ToString() => $"peer {N}";
    }

    private static HandshakeGate<Peer> Gate(ConcurrentQueue<(Peer, HandshakeRejection)> rejected, int pending, int max, TimeSpan? timeout = null) =>
        new(new ConnectionLimits(pending, timeout ?? TimeSpan.FromMinutes(1), max), (p, why, _) => rejected.Enqueue((p, why)), p => p.Unread);

    [Fact]
    public void A_full_pool_evicts_its_oldest_connection_but_spares_one_whose_input_is_unread()
    {
        var rejected = new ConcurrentQueue<(Peer, HandshakeRejection)>();
        using var gate = Gate(rejected, pending: 3, max: 10);
        var peers = Enumerable.Range(0, 6).Select(i => new Peer(i)).ToArray();
        foreach (var p in peers[..3]) gate.Admit(p);
        Assert.Empty(rejected);
        gate.Admit(peers[3]);
        Assert.Equal((peers[0], HandshakeRejection.Evicted), Assert.Single(rejected));
        peers[1].Unread = true; // a Hello in flight
        gate.Admit(peers[4]);
        Assert.Equal(peers[2], rejected.Last().Item1);
        Assert.Equal(3, gate.PendingCount);
        Assert.True(gate.TryComplete(peers[1], out _));
        Assert.Equal(1, gate.AuthenticatedCount);
        Assert.False(gate.TryComplete(peers[0], out var late)); // evicted: too late
        Assert.Contains("closed before its Hello", late);
    }

    [Fact]
    public void Authenticated_connections_have_their_own_cap_and_leaving_frees_a_slot()
    {
        var rejected = new ConcurrentQueue<(Peer, HandshakeRejection)>();
        using var gate = Gate(rejected, pending: 8, max: 2);
        var peers = Enumerable.Range(0, 4).Select(i => new Peer(i)).ToArray();
        foreach (var p in peers) gate.Admit(p);
        Assert.True(gate.TryComplete(peers[0], out _));
        Assert.True(gate.TryComplete(peers[1], out _));
        Assert.False(gate.TryComplete(peers[2], out var refusal));
        Assert.Contains("2 authenticated connections", refusal);
        gate.Remove(peers[0]);
        gate.Remove(peers[0]); // idempotent
        Assert.Equal(1, gate.AuthenticatedCount);
        Assert.True(gate.TryComplete(peers[3], out _));
        Assert.Equal(0, gate.PendingCount);
    }

    [Fact]
    public async Task A_connection_without_Hello_is_rejected_after_the_handshake_timeout()
    {
        var rejected = new ConcurrentQueue<(Peer, HandshakeRejection)>();
        using var gate = Gate(rejected, pending: 8, max: 8, timeout: TimeSpan.FromMilliseconds(100));
        var silent = new Peer(1);
        var good = new Peer(2);
        gate.Admit(silent);
        gate.Admit(good);
        Assert.True(gate.TryComplete(good, out _));
        await TestUtil.Eventually(() => !rejected.IsEmpty, TimeSpan.FromSeconds(5), () => "no timeout");
        Assert.Equal((silent, HandshakeRejection.Timeout), Assert.Single(rejected));
        Assert.Equal(0, gate.PendingCount);
        Assert.Equal(1, gate.AuthenticatedCount);
    }

    [Fact]
    public void Bad_limits_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConnectionLimits(0, TimeSpan.FromSeconds(1), 1).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConnectionLimits(1, TimeSpan.Zero, 1).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConnectionLimits(1, TimeSpan.FromSeconds(1), 0).Validate());
    }

    [Fact]
    public async Task The_log_throttle_lets_one_line_per_reason_through_per_interval_and_counts_the_rest()
    {
        var throttle = new LogThrottle<ConnectionRejection>(TimeSpan.FromSeconds(1)); // long enough that a stalled test thread does not open the next window
        Assert.True(throttle.ShouldLog(ConnectionRejection.BadInput, out var s0));
        Assert.Equal(0, s0);
        for (var i = 0; i < 50; i++) Assert.False(throttle.ShouldLog(ConnectionRejection.BadInput, out _));
        Assert.True(throttle.ShouldLog(ConnectionRejection.Evicted, out _)); // another reason has its own budget
        await Task.Delay(1100);
        Assert.True(throttle.ShouldLog(ConnectionRejection.BadInput, out var dropped));
        Assert.Equal(50, dropped);
    }
}
