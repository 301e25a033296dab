using System.CommandLine;
using FasterNet.Cli.Benchmarking;
using FasterNet.Imaging;
using FasterNet.Onnx;

namespace FasterNet.Cli.Commands;

/// <summary>
/// `fasternet export-onnx`: the model as the unfused ONNX graph PyTorch would export (opset 13), or with
/// `--quantize int8` as the QDQ int8 graph ONNX Runtime's quantization tool would write (Int8QdqExporter),
/// calibrated on images from a folder or, without one, on seeded random images.
/// </summary>
internal static class ExportOnnxCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var config = CommonOptions.Config();
        var weights = CommonOptions.Weights();
        var seed = new Option<ulong>("--seed") { Description = "Seed of the random weights (without --weights)", DefaultValueFactory = _ => 0 };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Output .onnx file", Required = true };
        var quantize = new Option<string>("--quantize")
        {
            Description = "none, or int8: QDQ graph with int8 per-output-channel weights and calibrated uint8 activations",
            DefaultValueFactory = _ => "none",
        };
        quantize.AcceptOnlyFromAmong("none", "int8");
        var calibrationImages = new Option<DirectoryInfo?>("--calibration-images")
        {
            Description = "With --quantize int8: folder of images (ImageNet pre-processing, 224x224) to calibrate on; " +
                          "default: seeded random images",
        };
        var calibrationBatches = new Option<int>("--calibration-batches")
        {
            Description = "With --quantize int8: batches of 8 images to calibrate on", DefaultValueFactory = _ => 4,
        };
        var command = new Command("export-onnx", "Write a model as an ONNX graph (IR 8, opset 13; dynamic batch, height, width)")
        {
            model, config, weights, seed, output, quantize, calibrationImages, calibrationBatches,
        };
        command.SetAction(result => CommonOptions.Guard(() =>
        {
            bool int8 = result.GetValue(quantize) == "int8";
            DirectoryInfo? images = result.GetValue(calibrationImages);
            int batches = result.GetValue(calibrationBatches);
            if (!int8 && (images is not null || result.GetResult(calibrationBatches) is { Implicit: false }))
                throw new ArgumentException("--calibration-images and --calibration-batches need --quantize int8");
            if (batches < 1)
                throw new ArgumentException($"--calibration-batches must be at least 1, got {batches}");
            if (images is not null && !images.Exists)
                throw new DirectoryNotFoundException($"--calibration-images folder '{images.FullName}' does not exist");

            ModelSpec spec = CommonOptions.ResolveSpec(result, model, config, weights);
            if (int8 && spec.Backbone)
                throw new ArgumentException($"--quantize int8 exports classifiers; model {spec.Name} is a backbone (fork_feat)");
            (IReadOnlyDictionary<string, Tensor> stateDict, string label) =
                WeightsSource.Load(spec, result.GetValue(weights), result.GetValue(seed));
            FileInfo target = result.GetValue(output)!;
            string calibrated = "";
            if (int8)
            {
                (IReadOnlyList<Tensor> calibration, calibrated) = CalibrationBatches(spec, images, batches);
                Int8QdqExporter.Export(spec, stateDict, calibration, target.FullName);
                calibrated = $"; int8 QDQ, calibrated on {calibrated}";
            }
            else
            {
                OnnxExporter.Export(spec, stateDict, target.FullName);
            }
            string outputs = spec.Backbone
                ? string.Join(", ", Enumerable.Range(0, spec.Depths.Count).Select(OnnxExporter.StageOutputName))
                : OnnxExporter.LogitsName;
            Console.WriteLine($"{target.FullName}: FasterNet-{spec.Name} ({label}), input '{OnnxExporter.InputName}' " +
                              $"[batch, {spec.InChannels}, height, width] -> {outputs}; {new FileInfo(target.FullName).Length:N0} bytes{calibrated}");
            return 0;
        }));
        return command;
    }

    private const int CalibrationBatchSize = 8;

    /// <summary>Batches of images from a folder (ImageNet pre-processing) or seeded random ones in [-1, 1].</summary>
    private static (IReadOnlyList<Tensor> Batches, string Description) CalibrationBatches(ModelSpec spec, DirectoryInfo? folder, int batches)
    {
        const int size = 224;
        int perImage = spec.InChannels * size * size;
        if (folder is null)
        {
            var random = new Random(42);
            var list = Enumerable.Range(0, batches).Select(_ =>
            {
                var data = new float[(long)CalibrationBatchSize * perImage];
                for (int i = 0; i < data.Length; i++)
                    data[i] = (float)(random.NextDouble() * 2 - 1);
                return new Tensor([CalibrationBatchSize, spec.InChannels, size, size], data);
            }).ToList();
            return (list, $"{batches * CalibrationBatchSize} random images");
        }
        string[] files = folder.EnumerateFiles().Select(f => f.FullName).Where(ImageDecoder.HasImageExtension)
            .OrderBy(f => f, StringComparer.Ordinal).Take(batches * CalibrationBatchSize).ToArray();
        if (files.Length == 0)
            throw new ArgumentException(
                $"--calibration-images folder '{folder.FullName}' holds no images ({string.Join(", ", ImageDecoder.FileExtensions)})");
        if (spec.InChannels != 3)
            throw new ArgumentException($"--calibration-images uses ImageNet (RGB) pre-processing; model {spec.Name} has {spec.InChannels} input channels");
        Preprocessor preprocessor = Preprocessor.ForImageNet();
        var result = new List<Tensor>();
        for (int start = 0; start < files.Length; start += CalibrationBatchSize)
        {
            int n = Math.Min(CalibrationBatchSize, files.Length - start);
            var data = new float[(long)n * perImage];
            for (int i = 0; i < n; i++)
                preprocessor.ProcessInto(ImageDecoder.Decode(files[start + i]), data.AsSpan(i * perImage, perImage));
            result.Add(new Tensor([n, spec.InChannels, size, size], data));
        }
        return (result, $"{files.Length} images from {folder.FullName}");
    }
}
