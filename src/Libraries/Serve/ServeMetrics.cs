using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Ray.Serve;

/// <summary>
/// Serve's metrics under Ray Serve's names, on the meter <c>Ray.Serve</c> (System.Diagnostics.Metrics:
/// read them with a MeterListener, dotnet-counters or an OpenTelemetry exporter).
/// </summary>
public static class ServeMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Ray.Serve";

    private static readonly Meter s_meter = new(MeterName);

    private static readonly Counter<long> s_routerRequests = s_meter.CreateCounter<long>("serve_num_router_requests_total", description: "Requests a router (proxy or handle) sent to a deployment.");
    private static readonly UpDownCounter<long> s_queued = s_meter.CreateUpDownCounter<long>("serve_deployment_queued_queries", description: "Requests waiting in a router for a free replica.");
    private static readonly Counter<long> s_replicaRequests = s_meter.CreateCounter<long>("serve_deployment_request_counter_total", description: "Requests a replica finished.");
    private static readonly Counter<long> s_replicaErrors = s_meter.CreateCounter<long>("serve_deployment_error_counter_total", description: "Requests whose deployment code threw.");
    private static readonly Histogram<double> s_processing = s_meter.CreateHistogram<double>("serve_deployment_processing_latency_ms", "ms", "Time a replica spent on a request.");
    private static readonly Counter<long> s_httpRequests = s_meter.CreateCounter<long>("serve_num_http_requests_total", description: "HTTP requests the proxy answered.");
    private static readonly Counter<long> s_httpErrors = s_meter.CreateCounter<long>("serve_num_http_error_requests_total", description: "HTTP requests answered with a status of 400 or more.");
    private static readonly Histogram<double> s_httpLatency = s_meter.CreateHistogram<double>("serve_http_request_latency_ms", "ms", "End-to-end time of an HTTP request in the proxy.");
    private static readonly Counter<long> s_replicaStarts = s_meter.CreateCounter<long>("serve_deployment_replica_starts_total", description: "Replicas started.");
    private static readonly Counter<long> s_healthFailures = s_meter.CreateCounter<long>("serve_deployment_replica_health_check_failures_total", description: "Failed replica health checks.");

    internal static void RouterRequest(string deployment) =>
        s_routerRequests.Add(1, new KeyValuePair<string, object?>("deployment", deployment));

    internal static void Queued(string deployment, int delta) =>
        s_queued.Add(delta, new KeyValuePair<string, object?>("deployment", deployment));

    internal static void ReplicaRequest(string deployment, string replica, double ms, bool ok)
    {
        var tags = new TagList { { "deployment", deployment }, { "replica", replica } };
        s_replicaRequests.Add(1, tags);
        s_processing.Record(ms, tags);
        if (!ok) s_replicaErrors.Add(1, tags);
    }

    internal static void HttpRequest(string application, string route, int status, double ms)
    {
        var tags = new TagList { { "application", application }, { "route", route }, { "status_code", status } };
        s_httpRequests.Add(1, tags);
        s_httpLatency.Record(ms, tags);
        if (status >= 400) s_httpErrors.Add(1, tags);
    }

    internal static void ReplicaStarted(string deployment) =>
        s_replicaStarts.Add(1, new KeyValuePair<string, object?>("deployment", deployment));

    internal static void HealthCheckFailed(string deployment, string replica) =>
        s_healthFailures.Add(1, new TagList { { "deployment", deployment }, { "replica", replica } });
}
