namespace FasterNet.Server;

/// <summary>
/// A request that cannot be answered with outputs; <see cref="Kind"/> picks the HTTP status and gRPC code
/// (Triton's: 400 invalid argument, 404 not found, 503 unavailable, 500 internal).
/// </summary>
public sealed class InferenceException(InferenceErrorKind kind, string message, string? rejectionReason = null)
    : Exception(message)
{
    public InferenceErrorKind Kind { get; } = kind;

    /// <summary>For 503s: why the request was turned away ("queue_full", "timeout", "shutting_down"), as the metrics label.</summary>
    public string? RejectionReason { get; } = rejectionReason;

    public int HttpStatus => Kind switch
    {
        InferenceErrorKind.BadRequest => 400,
        InferenceErrorKind.NotFound => 404,
        InferenceErrorKind.PayloadTooLarge => 413,
        InferenceErrorKind.Unavailable => 503,
        _ => 500,
    };

    public static InferenceException BadRequest(string message) => new(InferenceErrorKind.BadRequest, message);
}

public enum InferenceErrorKind
{
    BadRequest,
    NotFound,
    PayloadTooLarge,
    Unavailable,
    Internal,
}
