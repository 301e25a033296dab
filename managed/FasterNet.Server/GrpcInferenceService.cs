using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using FasterNet.Server.Grpc;

namespace FasterNet.Server;

/// <summary>
/// inference.GRPCInferenceService: the same semantics as REST over gRPC (typed contents or
/// raw_input_contents in; raw_output_contents out when the request used raw inputs, typed contents otherwise).
/// Errors carry the gRPC codes Triton uses: INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE, INTERNAL.
/// </summary>
internal sealed class GrpcInferenceService(ServerReference reference) : GRPCInferenceService.GRPCInferenceServiceBase
{
    private InferenceServer Server => reference.Server;

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = Server.IsReady });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context) =>
        Guard(() =>
        {
            ServedModel model = Server.Core.FindModel(request.Name, request.Version);
            return Task.FromResult(new ModelReadyResponse { Ready = model.IsReady && !Server.IsDraining });
        });

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context)
    {
        var response = new ServerMetadataResponse { Name = InferenceServer.ServerName, Version = InferenceServer.Version };
        response.Extensions.AddRange(InferenceServer.Extensions);
        return Task.FromResult(response);
    }

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context) =>
        Guard(() =>
        {
            ServedModel model = Server.Core.FindModel(request.Name, request.Version);
            var response = new ModelMetadataResponse { Name = model.Name, Platform = "fasternet" };
            response.Versions.Add("1");
            response.Inputs.AddRange(model.Inputs.Select(ToProto));
            response.Outputs.AddRange(model.Outputs.Select(ToProto));
            return Task.FromResult(response);
        });

    public override Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context) =>
        Guard(async () =>
        {
            ServedModel model = Server.Core.FindModel(request.ModelName, request.ModelVersion);
            if (Server.IsDraining)
                throw new InferenceException(InferenceErrorKind.Unavailable, "the server is shutting down", "shutting_down");
            bool raw = request.RawInputContents.Count > 0;
            if (raw && request.RawInputContents.Count != request.Inputs.Count)
                throw InferenceException.BadRequest(
                    $"raw_input_contents has {request.RawInputContents.Count} entries for {request.Inputs.Count} inputs");
            var inputs = new List<InputTensor>();
            for (int i = 0; i < request.Inputs.Count; i++)
            {
                var t = request.Inputs[i];
                var tensor = new InputTensor(t.Name, t.Datatype, t.Shape.ToArray());
                if (raw)
                {
                    if (t.Contents is not null && (t.Contents.Fp32Contents.Count > 0 || t.Contents.BytesContents.Count > 0))
                        throw InferenceException.BadRequest($"input '{t.Name}' has both contents and raw_input_contents");
                    ReadOnlySpan<byte> bytes = request.RawInputContents[i].Span;
                    tensor = t.Datatype switch
                    {
                        "FP32" => tensor with { Floats = InferenceCore.FloatsFromBytes(bytes, t.Name, Server.Core.InputPool), Pooled = true },
                        "BYTES" => tensor with { Bytes = InferenceCore.BytesElements(bytes, t.Name) },
                        _ => throw InferenceException.BadRequest($"input '{t.Name}': datatype {t.Datatype} is not supported (FP32 or BYTES)"),
                    };
                }
                else if (t.Contents is { } c)
                {
                    tensor = t.Datatype switch
                    {
                        "FP32" => tensor with { Floats = c.Fp32Contents.ToArray() },
                        "BYTES" => tensor with { Bytes = c.BytesContents.Select(b => b.ToByteArray()).ToList() },
                        _ => throw InferenceException.BadRequest($"input '{t.Name}': datatype {t.Datatype} is not supported (FP32 or BYTES)"),
                    };
                }
                inputs.Add(tensor);
            }
            long? timeout = request.Parameters.TryGetValue("timeout", out InferParameter? p) ? p.Int64Param : null;
            var outputs = request.Outputs.Select(o => new RequestedOutput(o.Name,
                o.Parameters.TryGetValue("classification", out InferParameter? k) ? (int)k.Int64Param : 0)).ToList();
            InferenceResponse result = await Server.Core.InferAsync(
                new InferenceRequest(model.Name, request.Id, inputs, outputs, timeout), context.CancellationToken);
            var response = new ModelInferResponse { ModelName = result.ModelName, ModelVersion = "1", Id = request.Id };
            foreach (OutputTensor o in result.Outputs)
            {
                var tensor = new ModelInferResponse.Types.InferOutputTensor { Name = o.Name, Datatype = o.Datatype };
                tensor.Shape.AddRange(o.Shape);
                if (raw)
                {
                    response.RawOutputContents.Add(o.Floats is { } f
                        ? ByteString.CopyFrom(MemoryMarshal.AsBytes(f.AsSpan()))
                        : ByteString.CopyFrom(InferenceCore.EncodeBytesElements(o.Bytes!)));
                }
                else
                {
                    tensor.Contents = new InferTensorContents();
                    if (o.Floats is { } f)
                        tensor.Contents.Fp32Contents.AddRange(f);
                    else
                        tensor.Contents.BytesContents.AddRange(o.Bytes!.Select(ByteString.CopyFrom));
                }
                response.Outputs.Add(tensor);
            }
            return response;
        });

    private static ModelMetadataResponse.Types.TensorMetadata ToProto(TensorMetadata t)
    {
        var m = new ModelMetadataResponse.Types.TensorMetadata { Name = t.Name, Datatype = t.Datatype };
        m.Shape.AddRange(t.Shape);
        return m;
    }

    private static async Task<T> Guard<T>(Func<Task<T>> body)
    {
        try
        {
            return await body();
        }
        catch (InferenceException e)
        {
            StatusCode code = e.Kind switch
            {
                InferenceErrorKind.BadRequest => StatusCode.InvalidArgument,
                InferenceErrorKind.NotFound => StatusCode.NotFound,
                InferenceErrorKind.PayloadTooLarge => StatusCode.ResourceExhausted,
                InferenceErrorKind.Unavailable => StatusCode.Unavailable,
                _ => StatusCode.Internal,
            };
            throw new RpcException(new Status(code, e.Message));
        }
        catch (OperationCanceledException)
        {
            throw new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled"));
        }
    }
}
