using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Ray.Soak;

/// <summary>
/// Hostile traffic against one socket for a fixed time: random frames (random headers, random
/// payloads, some just past the pre-Hello limit), slow connections (a frame one byte at a time),
/// idle connections (held until the server closes them, then reopened) and, for the store,
/// clients that say Hello, leave a thousand Gets waiting and vanish. Every loop stops at the
/// deadline; every socket is closed on the way out.
/// </summary>
internal sealed class Flooder(string name, EndPoint endpoint, DateTime deadline, int seed)
{
    private long _connections;
    private long _refused;
    private long _closedByServer;

    public string Name { get; } = name;

    /// <summary>Connections opened.</summary>
    public long Connections => Interlocked.Read(ref _connections);

    /// <summary>Connect attempts that failed (backlog full, refused).</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Connections the server closed on us.</summary>
    public long ClosedByServer => Interlocked.Read(ref _closedByServer);

    private bool Over => DateTime.UtcNow >= deadline;

    /// <summary>Runs <paramref name="random"/> random-frame loops, <paramref name="slow"/> slow ones, <paramref name="idle"/> idle connections and <paramref name="abandonedGets"/> store loops.</summary>
    public Task RunAsync(int random, int slow, int idle, int abandonedGets)
    {
        var tasks = new List<Task>();
        for (var i = 0; i < random; i++) tasks.Add(RandomFramesAsync(new Random(seed * 1000 + i)));
        for (var i = 0; i < slow; i++) tasks.Add(SlowAsync(new Random(seed * 2000 + i)));
        tasks.Add(IdleAsync(idle));
        for (var i = 0; i < abandonedGets; i++) tasks.Add(AbandonedGetsAsync(new Random(seed * 3000 + i)));
        return Task.WhenAll(tasks);
    }

    private Socket NewSocket() => endpoint is UnixDomainSocketEndPoint
        ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
        : new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);

    private async Task<Socket?> ConnectAsync()
    {
        var s = NewSocket();
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await s.ConnectAsync(endpoint, cts.Token).ConfigureAwait(false);
            Interlocked.Increment(ref _connections);
            return s;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            s.Dispose();
            Interlocked.Increment(ref _refused);
            await Task.Delay(20).ConfigureAwait(false);
            return null;
        }
    }

    private static byte[] RandomFrame(Random rng)
    {
        var payload = rng.Next(4) switch
        {
            0 => rng.Next(0, 64),
            1 => rng.Next(64, 4096),
            2 => rng.Next(4097, 70_000), // past every pre-Hello limit
            _ => rng.Next(0, 16),
        };
        var bytes = new byte[16 + Math.Min(payload, 8192)];
        rng.NextBytes(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes, rng.Next(8) == 0 ? rng.Next() : payload); // sometimes a wild length
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(4), (ushort)rng.Next(0, 120));
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(6), (ushort)rng.Next(0, 8));
        return bytes;
    }

    private async Task RandomFramesAsync(Random rng)
    {
        var buf = new byte[4096];
        while (!Over)
        {
            using var s = await ConnectAsync().ConfigureAwait(false);
            if (s is null) continue;
            try
            {
                for (var i = rng.Next(1, 4); i > 0; i--) await s.SendAsync(RandomFrame(rng), SocketFlags.None).ConfigureAwait(false);
                using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
                while (await s.ReceiveAsync(buf, SocketFlags.None, cts.Token).ConfigureAwait(false) > 0) { }
                Interlocked.Increment(ref _closedByServer);
            }
            catch (OperationCanceledException) { /* not closed within 200 ms: we close it */ }
            catch (SocketException) { Interlocked.Increment(ref _closedByServer); }
        }
    }

    private async Task SlowAsync(Random rng)
    {
        while (!Over)
        {
            using var s = await ConnectAsync().ConfigureAwait(false);
            if (s is null) continue;
            var frame = RandomFrame(rng);
            try
            {
                foreach (var b in frame)
                {
                    if (Over) break;
                    await s.SendAsync(new[] { b }, SocketFlags.None).ConfigureAwait(false);
                    await Task.Delay(rng.Next(50, 400)).ConfigureAwait(false);
                }
            }
            catch (SocketException) { Interlocked.Increment(ref _closedByServer); }
        }
    }

    private async Task IdleAsync(int count)
    {
        var held = new List<Socket>();
        try
        {
            while (!Over)
            {
                // Drop the ones the server closed, then top up.
                for (var i = held.Count - 1; i >= 0; i--)
                {
                    bool closed;
                    try { closed = held[i].Poll(0, SelectMode.SelectRead) && held[i].Available == 0; }
                    catch (Exception e) when (e is SocketException or ObjectDisposedException) { closed = true; }
                    if (!closed) continue;
                    held[i].Dispose();
                    held.RemoveAt(i);
                    Interlocked.Increment(ref _closedByServer);
                }
                while (held.Count < count && !Over)
                {
                    var s = await ConnectAsync().ConfigureAwait(false);
                    if (s is null) break;
                    held.Add(s);
                }
                await Task.Delay(100).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var s in held) s.Dispose();
        }
    }

    // The store only: Hello, a thousand Gets of objects that never come (no timeout), then gone.
    private async Task AbandonedGetsAsync(Random rng)
    {
        var frames = new byte[1000 * (16 + 24)];
        while (!Over)
        {
            using var s = await ConnectAsync().ConfigureAwait(false);
            if (s is null) continue;
            var hello = new byte[16 + 4];
            BinaryPrimitives.WriteInt32LittleEndian(hello, 4);
            BinaryPrimitives.WriteUInt16LittleEndian(hello.AsSpan(4), 1); // Hello
            BinaryPrimitives.WriteUInt64LittleEndian(hello.AsSpan(8), 1);
            BinaryPrimitives.WriteUInt32LittleEndian(hello.AsSpan(16), 1); // protocol version
            for (var i = 0; i < 1000; i++)
            {
                var f = frames.AsSpan(i * 40, 40);
                BinaryPrimitives.WriteInt32LittleEndian(f, 24);
                BinaryPrimitives.WriteUInt16LittleEndian(f[4..], 5); // Get
                BinaryPrimitives.WriteUInt16LittleEndian(f[6..], 0);
                BinaryPrimitives.WriteUInt64LittleEndian(f[8..], (ulong)i + 2);
                BinaryPrimitives.WriteUInt64LittleEndian(f[16..], (ulong)rng.NextInt64());
                BinaryPrimitives.WriteUInt64LittleEndian(f[24..], (ulong)rng.NextInt64());
                BinaryPrimitives.WriteInt64LittleEndian(f[32..], -1); // wait forever
            }
            try
            {
                await s.SendAsync(hello, SocketFlags.None).ConfigureAwait(false);
                await s.SendAsync(frames, SocketFlags.None).ConfigureAwait(false);
                await Task.Delay(rng.Next(20, 200)).ConfigureAwait(false);
            }
            catch (SocketException) { Interlocked.Increment(ref _closedByServer); }
        }
    }

    public override string ToString() =>
        $"{Name}: {Connections} connections, {Refused} refused at connect, {ClosedByServer} closed by the server";

    /// <summary>A field of /proc/PID/status in bytes (VmRSS, RssAnon, RssShmem, ...).</summary>
    internal static long StatusBytes(int pid, string field = "VmRSS")
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(field.Length + 1).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) * 1024;
        throw new InvalidOperationException($"no {field} for pid {pid}");
    }

    internal static long RssBytes(int pid) => StatusBytes(pid);
}
