using Ray.Protocol;

namespace Ray.Core.Tests;

/// <summary>The one request/response table of the runtime's clients (raylet client, control link, store client).</summary>
public sealed class ReplyTableTests
{
    [Fact]
    public async Task A_reply_completes_its_own_request_only()
    {
        var table = new ReplyTable<int>();
        var (a, ra) = table.Add();
        var (b, rb) = table.Add();
        Assert.NotEqual(a, b);
        Assert.True(table.Complete(b, 2));
        Assert.Equal(2, await rb);
        Assert.False(ra.IsCompleted);
        Assert.False(table.Complete(b, 3)); // answered already
        Assert.False(table.Complete(999, 1)); // never asked
        table.Forget(a);
        Assert.False(table.Complete(a, 1)); // its waiter gave up: a late reply finds nothing
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public async Task Closing_fails_what_waits_and_everything_asked_later()
    {
        var table = new ReplyTable<int>();
        var (_, pending) = table.Add();
        table.FailAll(() => new IOException("gone"));
        Assert.Equal("gone", (await Assert.ThrowsAsync<IOException>(() => pending)).Message);
        var (_, later) = table.Add();
        Assert.True(later.IsFaulted); // never waits for a reply that cannot come
        await Assert.ThrowsAsync<IOException>(() => later);
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public async Task A_request_added_while_the_table_closes_never_hangs()
    {
        for (var round = 0; round < 200; round++)
        {
            var table = new ReplyTable<int>();
            var adds = Task.Run(() => Enumerable.Range(0, 50).Select(_ => table.Add().Reply).ToList());
            table.FailAll(() => new IOException("closed"));
            var replies = await adds;
            foreach (var r in replies)
                Assert.True(r.IsFaulted, "a request was left waiting after the close");
            Assert.Equal(0, table.Count);
        }
    }
}
