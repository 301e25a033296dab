using FasterNet.Server.Grpc;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using static FasterNet.Server.Tests.ServerHarness;

namespace FasterNet.Server.Tests;

/// <summary>inference.GRPCInferenceService over cleartext HTTP/2 on its own port.</summary>
[TestFixture]
public sealed class GrpcTests
{
    private ServerHarness _server = null!;
    private GrpcChannel _channel = null!;
    private GRPCInferenceService.GRPCInferenceServiceClient _client = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _server = await StartAsync(new ModelConfiguration { MaxBatchSize = 4 });
        _channel = GrpcChannel.ForAddress(_server.Server.GrpcAddress!);
        _client = new GRPCInferenceService.GRPCInferenceServiceClient(_channel);
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _channel.Dispose();
        await _server.DisposeAsync();
    }

    [Test]
    public async Task HealthAndMetadataAnswer()
    {
        Assert.That((await _client.ServerLiveAsync(new ServerLiveRequest())).Live, Is.True);
        Assert.That((await _client.ServerReadyAsync(new ServerReadyRequest())).Ready, Is.True);
        Assert.That((await _client.ModelReadyAsync(new ModelReadyRequest { Name = "fashion-mnist" })).Ready, Is.True);
        ServerMetadataResponse server = await _client.ServerMetadataAsync(new ServerMetadataRequest());
        Assert.That(server.Extensions, Does.Contain("binary_tensor_data"));
        ModelMetadataResponse model = await _client.ModelMetadataAsync(new ModelMetadataRequest { Name = "fashion-mnist" });
        Assert.That(model.Inputs.Select(i => i.Name), Is.EqualTo(new[] { "input", "image" }));
        Assert.That(model.Outputs.Single().Shape, Is.EqualTo(new long[] { -1, DefaultModel.Spec.NumClasses }));
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task InferenceIsBitIdenticalToTheLibrary(bool raw)
    {
        float[] input = RandomInput(2 * 28 * 28, seed: 30);
        var request = new ModelInferRequest { ModelName = "fashion-mnist", Id = "g-1" };
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32" };
        tensor.Shape.AddRange([2, 1, 28, 28]);
        if (raw)
        {
            request.RawInputContents.Add(ByteString.CopyFrom(Bytes(input)));
        }
        else
        {
            tensor.Contents = new InferTensorContents();
            tensor.Contents.Fp32Contents.AddRange(input);
        }
        request.Inputs.Add(tensor);
        ModelInferResponse response = await _client.ModelInferAsync(request);
        Assert.That(response.Id, Is.EqualTo("g-1"));
        Assert.That(response.Outputs.Single().Shape, Is.EqualTo(new long[] { 2, 10 }));
        float[] logits = raw
            ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(response.RawOutputContents.Single().Span).ToArray()
            : response.Outputs.Single().Contents.Fp32Contents.ToArray();
        Assert.That(logits, Is.EqualTo(LibraryLogits(_server.Model(), input, 2, 28, 28)).AsCollection);
    }

    [Test]
    public async Task ClassificationAndImageInputsWorkOverGrpc()
    {
        byte[] png = GrayPng(28, 28, seed: 31);
        var request = new ModelInferRequest { ModelName = "fashion-mnist" };
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = "image", Datatype = "BYTES", Contents = new InferTensorContents() };
        tensor.Shape.Add(1);
        tensor.Contents.BytesContents.Add(ByteString.CopyFrom(png));
        request.Inputs.Add(tensor);
        var output = new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "logits" };
        output.Parameters["classification"] = new InferParameter { Int64Param = 2 };
        request.Outputs.Add(output);
        ModelInferResponse response = await _client.ModelInferAsync(request);
        string[] top = response.Outputs.Single().Contents.BytesContents.Select(b => b.ToStringUtf8()).ToArray();

        float[] pre = DefaultModel.Preprocessor.Process(FasterNet.Imaging.ImageDecoder.Decode(png)).Data;
        Prediction[] expected = Classification.TopK(LibraryLogits(_server.Model(), pre, 1, 28, 28), 2, DefaultModel.ClassNames);
        Assert.That(top.Select(t => int.Parse(t.Split(':')[1])), Is.EqualTo(expected.Select(p => p.ClassIndex)));
    }

    [Test]
    public void ErrorsCarryTritonsGrpcCodes()
    {
        var unknown = new ModelInferRequest { ModelName = "nope" };
        Assert.That(async () => await _client.ModelInferAsync(unknown),
            Throws.InstanceOf<RpcException>().With.Property("StatusCode").EqualTo(StatusCode.NotFound));
        var bad = new ModelInferRequest { ModelName = "fashion-mnist" };
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32" };
        tensor.Shape.AddRange([1, 1, 28, 28]);
        bad.Inputs.Add(tensor);
        bad.RawInputContents.Add(ByteString.CopyFrom(new byte[7]));
        Assert.That(async () => await _client.ModelInferAsync(bad),
            Throws.InstanceOf<RpcException>().With.Property("StatusCode").EqualTo(StatusCode.InvalidArgument)
                .And.Message.Contains("FP32"));
    }
}
