// Child process used by the multi-process tests of Ray.Plasma.Tests.
//
//   read           <socket> <owner> <seq>          get the object, print "length=N checksum=X pointer=0x.. zerocopy=True", release, exit 0
//   write-and-hang <socket> <owner> <seq> <size>   create, write half, print "reserved", sleep until killed
//   get-and-hang   <socket> <owner> <seq>          get a view, print "holding length=N", sleep until killed
//   read-after-close <socket> <owner> <seq>        get a view, dispose the client (not the view), touch the view:
//                                                  print the exception type it throws ("none" if it reads)
//
// Exit codes: 0 ok, 2 usage, 3 a PlasmaException (its status is printed on stderr).
using System.Globalization;
using Ray.Plasma;
using Ray.Plasma.Client;

if (args.Length < 4)
{
    Console.Error.WriteLine("usage: Ray.Plasma.TestClient read|write-and-hang|get-and-hang <socket> <owner> <seq> [size]");
    return 2;
}

var mode = args[0];
var socket = args[1];
var id = new PlasmaObjectId(ulong.Parse(args[2], CultureInfo.InvariantCulture), ulong.Parse(args[3], CultureInfo.InvariantCulture));
var timeout = TimeSpan.FromSeconds(20);

try
{
    switch (mode)
    {
        case "read":
        {
            await using var client = await PlasmaClient.ConnectAsync(socket);
            using var view = await client.GetAsync(id, timeout);
            var checksum = Fnv1a(view.Span);
            bool zeroCopy;
            unsafe { zeroCopy = view.Pointer == (nint)(client.Arena.Base + view.Info.DataOffset); }
            Console.WriteLine(FormattableString.Invariant(
                $"length={view.Length} checksum={checksum:x16} pointer=0x{view.Pointer:x} zerocopy={zeroCopy}"));
            return 0;
        }
        case "write-and-hang":
        {
            var size = long.Parse(args[4], CultureInfo.InvariantCulture);
            var client = await PlasmaClient.ConnectAsync(socket);
            var buffer = await client.CreateAsync(id, size);
            buffer.Span[..(int)(size / 2)].Fill(0xAB); // a writer that dies half way
            Console.WriteLine("reserved");
            await Task.Delay(Timeout.Infinite); // killed by the test; never disposes anything
            return 0;
        }
        case "get-and-hang":
        {
            var client = await PlasmaClient.ConnectAsync(socket);
            var view = await client.GetAsync(id, timeout);
            Console.WriteLine(FormattableString.Invariant($"holding length={view.Length} checksum={Fnv1a(view.Span):x16}"));
            await Task.Delay(Timeout.Infinite);
            GC.KeepAlive(view);
            return 0;
        }
        case "read-after-close":
        {
            var client = await PlasmaClient.ConnectAsync(socket);
            var view = await client.GetAsync(id, timeout);
            Console.WriteLine("got");
            try { await client.DisposeAsync(); }
            catch (Exception e) { Console.WriteLine($"dispose threw {e.GetType().Name}"); }
            try
            {
                var first = view.Span[0]; // the arena was unmapped with the client
                Console.WriteLine($"none {first}");
            }
            catch (Exception e) { Console.WriteLine(e.GetType().Name); }
            return 0;
        }
        default:
            Console.Error.WriteLine($"unknown mode {mode}");
            return 2;
    }
}
catch (PlasmaException e)
{
    Console.Error.WriteLine($"PlasmaException {e.Status}: {e.Message}");
    return 3;
}

// FNV-1a 64: the same function the tests compute in process.
static ulong Fnv1a(ReadOnlySpan<byte> data)
{
    var h = 14695981039346656037UL;
    foreach (var b in data)
    {
        h ^= b;
        h *= 1099511628211UL;
    }
    return h;
}
