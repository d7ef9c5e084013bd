using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Ray.Perf;

/// <summary>One measured figure, as written to perf.json.</summary>
public sealed record PerfResult(string Name, string Mode, double Value, string Unit);

/// <summary>
/// Times a case the way Ray's ray_perf timeit does: warm up, then several trials of a fixed
/// minimum duration, each counting calls x multiplier; reports the median trial.
/// </summary>
public sealed class PerfHarness(string mode, TimeSpan trial, int trials, string? filter)
{
    private readonly List<PerfResult> _results = new();

    public IReadOnlyList<PerfResult> Results => _results;

    private readonly string[]? _filters = filter?.Split('|', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>True when no filter was given or the name contains one of its '|'-separated parts.</summary>
    public bool Selected(string name) => _filters is null || _filters.Any(f => name.Contains(f, StringComparison.Ordinal));

    /// <summary>Rate case: <paramref name="body"/> is one unit worth <paramref name="multiplier"/> calls.</summary>
    public void Rate(string name, Action body, int multiplier = 1, string? unitMode = null)
    {
        if (!Selected(name)) return;
        try { RateCore(name, body, multiplier, unitMode); }
        catch (CaseStalledException e) { Stalled(name, e); }
        catch (AggregateException e) when (e.Flatten().InnerExceptions.FirstOrDefault() is CaseStalledException s) { Stalled(name, s); }
    }

    /// <summary>Records that a case stalled (NAME_stalled = 1) and goes on with the next case.</summary>
    private void Stalled(string name, CaseStalledException e)
    {
        _results.Add(new PerfResult(name + "_stalled", mode, 1, "count"));
        Console.WriteLine($"{name,-48} {mode,-9} STALLED: {e.Message}; case skipped");
    }

    private void RateCore(string name, Action body, int multiplier, string? unitMode)
    {
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed < TimeSpan.FromMilliseconds(300)) body();
        var rates = new List<double>();
        for (var t = 0; t < trials; t++)
        {
            var sw = Stopwatch.StartNew();
            long n = 0;
            while (sw.Elapsed < trial) { body(); n++; }
            rates.Add(n * multiplier / sw.Elapsed.TotalSeconds);
        }
        Add(name, unitMode ?? mode, Median(rates), "per_second");
    }

    /// <summary>Bandwidth case: <paramref name="body"/> moves <paramref name="bytes"/> bytes per call.</summary>
    public void Bandwidth(string name, Action body, long bytes, int minCalls = 3)
    {
        if (!Selected(name)) return;
        body();
        var rates = new List<double>();
        for (var t = 0; t < trials; t++)
        {
            var sw = Stopwatch.StartNew();
            long n = 0;
            while (n < minCalls || sw.Elapsed < trial) { body(); n++; }
            rates.Add(n * bytes / sw.Elapsed.TotalSeconds / 1e9);
        }
        Add(name, mode, Median(rates), "GB/s");
    }

    /// <summary>Latency case: median of per-call times in microseconds (with <paramref name="spread"/>, also NAME_p10 and NAME_p90).</summary>
    public void Latency(string name, Action body, int calls = 20_000, bool spread = false)
    {
        if (!Selected(name)) return;
        try { LatencyCore(name, body, calls, spread); }
        catch (CaseStalledException e) { Stalled(name, e); }
    }

    private void LatencyCore(string name, Action body, int calls, bool spread)
    {
        for (var i = 0; i < calls / 4; i++) body();
        var samples = new double[calls];
        for (var i = 0; i < calls; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            body();
            samples[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }
        Array.Sort(samples);
        Add(name, mode, samples[calls / 2], "us");
        if (spread)
        {
            AddQuiet(new PerfResult(name + "_p10", mode, samples[calls / 10], "us"));
            AddQuiet(new PerfResult(name + "_p90", mode, samples[calls * 9 / 10], "us"));
        }
        Console.WriteLine($"    {name}: p10 {samples[calls / 10]:0.0} us  p50 {samples[calls / 2]:0.0} us  p90 {samples[calls * 9 / 10]:0.0} us  p99 {samples[calls * 99 / 100]:0.0} us");
    }

    public void Add(string name, string mode, double value, string unit)
    {
        _results.Add(new PerfResult(name, mode, value, unit));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-48} {mode,-9} {value,14:N1} {unit}"));
    }

    public void AddQuiet(PerfResult r) => _results.Add(r);

    public double Value(string name) => _results.LastOrDefault(r => r.Name == name)?.Value ?? double.NaN;

    /// <summary>Merges into an existing perf.json, replacing entries of the same name and mode.</summary>
    public void Write(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var all = new List<PerfResult>();
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };
        if (File.Exists(path))
        {
            try { all.AddRange(JsonSerializer.Deserialize<List<PerfResult>>(File.ReadAllText(path), options) ?? []); }
            catch (JsonException) { /* replace a corrupt file */ }
        }
        all.RemoveAll(old => _results.Any(r => r.Name == old.Name && r.Mode == old.Mode));
        all.AddRange(_results);
        File.WriteAllText(path, JsonSerializer.Serialize(all, options));
    }

    private static double Median(List<double> xs)
    {
        xs.Sort();
        return xs[xs.Count / 2];
    }
}
