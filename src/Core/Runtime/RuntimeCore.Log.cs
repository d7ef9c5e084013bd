using Microsoft.Extensions.Logging;

namespace Ray.Runtime;

internal sealed partial class RuntimeCore
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Ray runtime {Owner:x} started: resources {Resources}, {Workers} workers")]
        public static partial void Started(ILogger logger, ulong owner, string resources, int workers);

        [LoggerMessage(2, LogLevel.Information, "Ray runtime {Owner:x} stopped")]
        public static partial void Stopped(ILogger logger, ulong owner);
    }
}
