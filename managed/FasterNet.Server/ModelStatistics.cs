using System.Diagnostics;
using Prometheus;

namespace FasterNet.Server;

/// <summary>
/// A model's counters, kept twice in the same places: as Triton's Prometheus metrics (same names and meanings,
/// labels model and version) and as the totals /v2/models/{name}/stats reports (Triton's statistics extension).
/// </summary>
internal sealed class ModelStatistics
{
    private readonly Counter.Child _success, _failure, _inferences, _executions, _requestUs, _queueUs, _computeUs;
    private readonly Gauge.Child _pending, _inFlight;
    private readonly Histogram.Child _batchSize;
    private readonly Counter _rejections;
    private readonly string _model;

    private long _successCount, _successNs, _failureCount, _failureNs, _queueCount, _queueNs;
    private long _computeCount, _computeNs, _inferenceCount, _executionCount, _cancelledInQueue, _lastInferenceMs, _taken;

    public ModelStatistics(MetricFactory metrics, string model)
    {
        _model = model;
        string[] labels = ["model", "version"];
        string[] values = [model, "1"];
        Counter C(string name, string help) => metrics.CreateCounter(name, help, labels);
        _success = C("nv_inference_request_success", "Number of successful inference requests, all batch sizes").WithLabels(values);
        _failure = C("nv_inference_request_failure", "Number of failed inference requests, all batch sizes").WithLabels(values);
        _inferences = C("nv_inference_count", "Number of inferences performed (a batch of n counts n)").WithLabels(values);
        _executions = C("nv_inference_exec_count", "Number of model executions (native batch calls)").WithLabels(values);
        _requestUs = C("nv_inference_request_duration_us", "Cumulative inference request duration in microseconds").WithLabels(values);
        _queueUs = C("nv_inference_queue_duration_us", "Cumulative time requests spend waiting in the queue in microseconds").WithLabels(values);
        _computeUs = C("nv_inference_compute_infer_duration_us", "Cumulative compute inference duration in microseconds").WithLabels(values);
        _pending = metrics.CreateGauge("nv_inference_pending_request_count",
            "Instantaneous number of pending requests awaiting execution", labels).WithLabels(values);
        _inFlight = metrics.CreateGauge("fasternet_inference_in_flight_request_count",
            "Requests accepted into the queue and not yet answered (waiting or executing)", labels).WithLabels(values);
        _batchSize = metrics.CreateHistogram("fasternet_inference_batch_size", "Images per native execution",
            new HistogramConfiguration { LabelNames = labels, Buckets = [1, 2, 4, 8, 16, 32, 64, 128] }).WithLabels(values);
        _rejections = metrics.CreateCounter("fasternet_inference_rejected_total",
            "Requests answered without running, by reason (queue_full, timeout, client_gone, shutting_down, batch_too_large, bad_request)",
            ["model", "version", "reason"]);
    }

    public long CancelledInQueue => Interlocked.Read(ref _cancelledInQueue);
    public long InferenceCount => Interlocked.Read(ref _inferenceCount);
    public long ExecutionCount => Interlocked.Read(ref _executionCount);

    /// <summary>Requests executors have taken from the queue (run or about to run).</summary>
    public long Taken => Interlocked.Read(ref _taken);

    public void TakenFromQueue(int requests) => Interlocked.Add(ref _taken, requests);

    public void PendingChanged(int delta) => _pending.Inc(delta);

    public void InFlightChanged(int delta) => _inFlight.Inc(delta);

    public void Rejected(string reason)
    {
        _rejections.WithLabels(_model, "1", reason).Inc();
        if (reason == "client_gone")
            Interlocked.Increment(ref _cancelledInQueue);
    }

    public void Queued(long enqueuedTimestamp)
    {
        long ns = ElapsedNs(enqueuedTimestamp);
        Interlocked.Increment(ref _queueCount);
        Interlocked.Add(ref _queueNs, ns);
        _queueUs.Inc(ns / 1000.0);
    }

    public void Executed(int images, long computeNs)
    {
        Interlocked.Increment(ref _executionCount);
        Interlocked.Add(ref _inferenceCount, images);
        Interlocked.Increment(ref _computeCount);
        Interlocked.Add(ref _computeNs, computeNs);
        Interlocked.Exchange(ref _lastInferenceMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        _executions.Inc();
        _inferences.Inc(images);
        _computeUs.Inc(computeNs / 1000.0);
        _batchSize.Observe(images);
    }

    public void Finished(bool success, long startTimestamp)
    {
        long ns = ElapsedNs(startTimestamp);
        if (success)
        {
            Interlocked.Increment(ref _successCount);
            Interlocked.Add(ref _successNs, ns);
            _success.Inc();
        }
        else
        {
            Interlocked.Increment(ref _failureCount);
            Interlocked.Add(ref _failureNs, ns);
            _failure.Inc();
        }
        _requestUs.Inc(ns / 1000.0);
    }

    /// <summary>Triton's statistics extension entry for this model.</summary>
    public object ToTritonStats(string name) => new
    {
        name,
        version = "1",
        last_inference = Interlocked.Read(ref _lastInferenceMs),
        inference_count = InferenceCount,
        execution_count = ExecutionCount,
        inference_stats = new
        {
            success = Duration(ref _successCount, ref _successNs),
            fail = Duration(ref _failureCount, ref _failureNs),
            queue = Duration(ref _queueCount, ref _queueNs),
            compute_infer = Duration(ref _computeCount, ref _computeNs),
        },
        cancelled_in_queue = CancelledInQueue,
    };

    private static object Duration(ref long count, ref long ns) =>
        new { count = Interlocked.Read(ref count), ns = Interlocked.Read(ref ns) };

    internal static long ElapsedNs(long startTimestamp) =>
        (long)((Stopwatch.GetTimestamp() - startTimestamp) * (1e9 / Stopwatch.Frequency));
}
