using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using FasterNet.Data;
using FasterNet.Imaging;
using FasterNet.Onnx;
using FasterNet.Serialization;
using Spectre.Console;

namespace FasterNet.Cli.Commands;

/// <summary>
/// `fasternet eval`: accuracy of a Fashion-MNIST classifier on the 10,000 test images (the built-in model by default),
/// per class and as a confusion matrix, with throughput, and how many predictions differ from PyTorch's.
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var dataset = new Option<string>("--dataset")
        {
            Description = "Dataset to evaluate on (fashion-mnist)",
            DefaultValueFactory = _ => "fashion-mnist",
        };
        var dir = new Option<DirectoryInfo?>("--dir")
        {
            Description = $"Folder with the gzipped IDX files (default {FashionMnist.DefaultDirectory})",
        };
        var weights = new Option<FileInfo?>("--weights", "-w")
        {
            Description = "Checkpoint of a Fashion-MNIST model with --config, or a hub snapshot folder; default: the built-in model",
        };
        var config = new Option<FileInfo?>("--config")
        {
            Description = "The model's config.json (constructor arguments, mean, std, input_size, class_names)",
        };
        var batch = new Option<int>("--batch", "-b") { Description = "Images per inference call", DefaultValueFactory = _ => 256 };
        var threads = CommonOptions.Threads();
        var isa = CommonOptions.Isa();
        var precision = CommonOptions.Precision();
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N test images" };
        var compare = new Option<FileInfo?>("--compare-predictions")
        {
            Description = "PyTorch's predictions (.npy of class indices) to count differences against; default: " +
                          "test_predictions.npy beside --config, or the built-in model's",
        };
        var peer = new Option<string>("--peer")
        {
            Description = "Also evaluate ONNX Runtime's int8 QDQ graph of the same weights (onnxruntime-int8; calibrated on " +
                          $"{Int8CalibrationBatches} x {Int8CalibrationBatchSize} training images), or none",
            DefaultValueFactory = _ => "none",
        };
        var json = CommonOptions.Json();
        var command = new Command("eval", "Accuracy, per-class accuracy, confusion matrix and images/s on a test set")
        {
            dataset, dir, weights, config, batch, threads, isa, precision, limit, compare, peer, json,
        };
        command.SetAction(result => CommonOptions.Guard(() =>
        {
            string name = result.GetValue(dataset)!;
            if (!string.Equals(name, "fashion-mnist", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--dataset '{name}' is not supported; the one dataset is fashion-mnist");
            int batchSize = result.GetValue(batch);
            if (batchSize <= 0)
                throw new ArgumentException($"--batch {batchSize} must be positive");
            if (result.GetValue(limit) is <= 0)
                throw new ArgumentException($"--limit {result.GetValue(limit)} must be positive");
            string peerName = result.GetValue(peer)!;
            if (peerName is not ("none" or "onnxruntime-int8"))
                throw new ArgumentException($"--peer '{peerName}' is not supported by eval; expected none or onnxruntime-int8");

            EvaluatedModel evaluated = EvaluatedModel.Resolve(result.GetValue(weights), result.GetValue(config), result.GetValue(compare));
            LabeledImages test = FashionMnist.Load(DatasetSplit.Test, result.GetValue(dir)?.FullName);
            int count = Math.Min(result.GetValue(limit) ?? test.Count, test.Count);
            var options = new ModelOptions
            {
                Threads = result.GetValue(threads),
                KernelSet = Runtime.ParseKernelSet(result.GetValue(isa)!),
                Precision = CommonOptions.ParsePrecision(result.GetValue(precision)!),
            };
            using FasterNetModel model = evaluated.Load(options);

            EvalReport report = Evaluate(model, evaluated, test, count, batchSize);
            if (peerName == "onnxruntime-int8")
                report.Int8 = EvaluateInt8(evaluated, test, count, batchSize, model.Threads, result.GetValue(dir)?.FullName);
            if (result.GetValue(json))
                PrintJson(report);
            else
                PrintText(report);
            return 0;
        }));
        return command;
    }

    private static EvalReport Evaluate(FasterNetModel model, EvaluatedModel evaluated, LabeledImages test, int count, int batchSize)
    {
        Preprocessor preprocessor = evaluated.Preprocessor;
        int size = preprocessor.Options.Size, classes = model.Spec.NumClasses, perImage = preprocessor.ValuesPerImage;
        var predictions = new int[count];
        var input = new float[(long)Math.Min(batchSize, count) * perImage];
        var logits = new float[(long)Math.Min(batchSize, count) * classes];
        var total = new Stopwatch();
        var inference = new Stopwatch();

        ProgressReporter.Run("eval", count, showPlainLines: count > batchSize, advance =>
        {
            total.Start();
            for (int start = 0; start < count; start += batchSize)
            {
                int n = Math.Min(batchSize, count - start);
                for (int i = 0; i < n; i++)
                {
                    PixelImage image = PixelImage.FromGray(test.Images.Image(start + i), test.Images.Rows, test.Images.Columns);
                    preprocessor.ProcessInto(image, input.AsSpan(i * perImage, perImage));
                }
                inference.Start();
                model.Run(input.AsSpan(0, n * perImage), n, size, size, logits.AsSpan(0, n * classes));
                inference.Stop();
                Classification.ArgMax(logits.AsSpan(0, n * classes), classes).CopyTo(predictions, start);
                advance(n);
            }
            total.Stop();
        });
        return new EvalReport(evaluated, model, test.Labels.AsSpan(0, count).ToArray(), predictions, batchSize,
                              count / total.Elapsed.TotalSeconds, count / inference.Elapsed.TotalSeconds);
    }

    private const int Int8CalibrationBatches = 4;
    private const int Int8CalibrationBatchSize = 64;

    /// <summary>
    /// ONNX Runtime on the int8 QDQ graph of the same weights (Int8QdqExporter), calibrated on the first
    /// training images (never on the test set), over the same test images.
    /// </summary>
    private static Int8Outcome EvaluateInt8(EvaluatedModel evaluated, LabeledImages test, int count, int batchSize, int threads,
                                            string? directory)
    {
        Preprocessor preprocessor = evaluated.Preprocessor;
        int size = preprocessor.Options.Size, classes = evaluated.Spec.NumClasses, perImage = preprocessor.ValuesPerImage;
        LabeledImages train = FashionMnist.Load(DatasetSplit.Train, directory);
        Tensor Batch(LabeledImages images, int start, int n)
        {
            var data = new float[(long)n * perImage];
            for (int i = 0; i < n; i++)
            {
                PixelImage image = PixelImage.FromGray(images.Images.Image(start + i), images.Images.Rows, images.Images.Columns);
                preprocessor.ProcessInto(image, data.AsSpan(i * perImage, perImage));
            }
            return new Tensor([n, (int)preprocessor.Options.Channels, size, size], data);
        }
        IEnumerable<Tensor> calibration = Enumerable.Range(0, Int8CalibrationBatches)
            .Select(b => Batch(train, b * Int8CalibrationBatchSize, Int8CalibrationBatchSize));
        using var peer = new OrtPeer(Int8QdqExporter.ToBytes(evaluated.Spec, evaluated.LoadStateDict(), calibration), threads);
        var predictions = new int[count];
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            float[] logits = peer.Run(Batch(test, start, n).Data, n, size, size);
            Classification.ArgMax(logits, classes).CopyTo(predictions, start);
        }
        int correct = Enumerable.Range(0, count).Count(i => predictions[i] == test.Labels[i]);
        int? differing = evaluated.PyTorchPredictions is { } reference
            ? Enumerable.Range(0, Math.Min(count, reference.Count)).Count(i => predictions[i] != reference[i])
            : null;
        return new Int8Outcome(correct, count, differing, Int8CalibrationBatches * Int8CalibrationBatchSize);
    }

    private static void PrintText(EvalReport report)
    {
        IReadOnlyList<string> names = report.Model.ClassNames;
        Console.WriteLine($"fashion-mnist test set: {report.Count:N0} images; model {report.Model.Name}; " +
                          $"kernels {report.KernelSet}, {report.Threads} thread{(report.Threads == 1 ? "" : "s")}, batch {report.Batch}");
        string pytorch = report.Model.PyTorchAccuracy is { } reference && report.Count == 10_000
            ? $"   (PyTorch: {Percent(reference)})"
            : "";
        Console.WriteLine($"accuracy   {Percent(report.Accuracy)}  ({report.Correct:N0} of {report.Count:N0}){pytorch}");
        if (report.Comparison is { } comparison)
        {
            string which = comparison.Differing.Count == 0 ? "" :
                $"  (test images {string.Join(", ", comparison.Differing.Take(20))}{(comparison.Differing.Count > 20 ? ", ..." : "")})";
            Console.WriteLine($"differ from PyTorch: {comparison.Differing.Count} of {comparison.Compared:N0} predictions{which}");
        }
        Console.WriteLine($"throughput {report.ImagesPerSecond:N0} images/s (pre-processing + inference; " +
                          $"inference alone {report.InferenceImagesPerSecond:N0} images/s)");
        if (report.Int8 is { } int8)
        {
            string differing = int8.DifferFromPyTorch is { } d ? $"; differ from PyTorch: {d} of {int8.Count:N0} predictions" : "";
            Console.WriteLine($"ONNX Runtime {OrtPeer.Version} int8 (QDQ, calibrated on {int8.CalibrationImages} training images): " +
                              $"accuracy {Percent(int8.Accuracy)}  ({int8.Correct:N0} of {int8.Count:N0}){differing}");
        }
        Console.WriteLine();
        Console.WriteLine("per class");
        int width = names.Max(n => n.Length);
        for (int c = 0; c < names.Count; c++)
        {
            int seen = report.ClassCount(c);
            string accuracy = seen == 0 ? "      -" : $"{Percent((double)report.Confusion[c, c] / seen),7}";
            Console.WriteLine($"  {c}  {names[c].PadRight(width)}  {accuracy}  ({report.Confusion[c, c]} of {seen})");
        }
        Console.WriteLine();
        Console.WriteLine("confusion matrix (rows: true class, columns: predicted class)");
        Console.WriteLine($"  {"".PadRight(width + 3)}" + string.Concat(Enumerable.Range(0, names.Count).Select(c => $"{c,6}")));
        for (int t = 0; t < names.Count; t++)
            Console.WriteLine($"  {t}  {names[t].PadRight(width)}" +
                              string.Concat(Enumerable.Range(0, names.Count).Select(p => $"{report.Confusion[t, p],6}")));
    }

    private static string Percent(double fraction) => $"{fraction * 100:F2}%";

    private static void PrintJson(EvalReport report)
    {
        IReadOnlyList<string> names = report.Model.ClassNames;
        var document = new
        {
            dataset = "fashion-mnist",
            model = report.Model.Name,
            count = report.Count,
            correct = report.Correct,
            accuracy = report.Accuracy,
            per_class = Enumerable.Range(0, names.Count).Select(c => new
            {
                index = c,
                name = names[c],
                count = report.ClassCount(c),
                correct = report.Confusion[c, c],
                accuracy = report.ClassCount(c) == 0 ? (double?)null : (double)report.Confusion[c, c] / report.ClassCount(c),
            }),
            confusion = Enumerable.Range(0, names.Count)
                .Select(t => Enumerable.Range(0, names.Count).Select(p => report.Confusion[t, p]).ToArray()),
            images_per_s = report.ImagesPerSecond,
            inference_images_per_s = report.InferenceImagesPerSecond,
            batch = report.Batch,
            threads = report.Threads,
            kernel_set = report.KernelSet,
            pytorch = report.Comparison is { } comparison
                ? new
                {
                    accuracy = report.Count == 10_000 ? report.Model.PyTorchAccuracy : null,
                    compared = comparison.Compared,
                    differing = comparison.Differing.Count,
                    differing_indices = comparison.Differing,
                    source = comparison.Source,
                }
                : null,
            onnxruntime_int8 = report.Int8 is { } int8
                ? new
                {
                    version = OrtPeer.Version,
                    calibration_images = int8.CalibrationImages,
                    correct = int8.Correct,
                    accuracy = int8.Accuracy,
                    differing_from_pytorch = int8.DifferFromPyTorch,
                }
                : null,
        };
        Console.WriteLine(JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The model under evaluation, and where PyTorch's predictions for it come from.</summary>
    private sealed record EvaluatedModel(
        string Name,
        ModelSpec Spec,
        Preprocessor Preprocessor,
        IReadOnlyList<string> ClassNames,
        double? PyTorchAccuracy,
        Func<ModelOptions, FasterNetModel> Load,
        IReadOnlyList<int>? PyTorchPredictions,
        string? PredictionsSource,
        Func<IReadOnlyDictionary<string, Tensor>> LoadStateDict)
    {
        public static EvaluatedModel Resolve(FileInfo? weights, FileInfo? config, FileInfo? compare)
        {
            HubSnapshot? snapshot = CommonOptions.Snapshot(weights);
            if (snapshot is not null)
                CommonOptions.SnapshotSpec(snapshot, model: null, config);
            if (weights is not null && config is null && snapshot is null)
                throw new ArgumentException("--weights needs --config (the model's constructor arguments and pre-processing)");
            if (config is not null && weights is null)
                throw new ArgumentException("--config needs --weights: evaluating random weights says nothing");
            IReadOnlyList<int>? explicitPredictions = compare is null ? null : ClassIndexFile.Read(compare.FullName);

            EvaluatedModel model;
            if (snapshot is not null)
            {
                // A hub snapshot: its pretrained_cfg is the pre-processing, its label_names (if any) the class names.
                string beside = Path.Combine(snapshot.Directory, "test_predictions.npy");
                bool hasBeside = File.Exists(beside);
                model = new EvaluatedModel($"{snapshot.Architecture} ({snapshot.Directory})", snapshot.Spec,
                    Preprocessor.FromPretrained(snapshot.Pretrained), snapshot.LabelNames ?? FashionMnist.ClassNames, null,
                    options => FasterNetModel.FromPretrained(snapshot, options),
                    hasBeside ? ClassIndexFile.Read(beside) : null, hasBeside ? beside : null,
                    () => CheckpointLayouts.ToOfficial(Checkpoint.Load(snapshot.WeightsPath)).StateDict);
            }
            else if (config is null)
            {
                model = new EvaluatedModel($"{DefaultModel.Name} (built-in)", DefaultModel.Spec, DefaultModel.Preprocessor,
                    DefaultModel.ClassNames, DefaultModel.TestAccuracy, DefaultModel.Load,
                    DefaultModel.PyTorchTestPredictions, "built-in test_predictions.npy",
                    () => CheckpointLayouts.ToOfficial(DefaultModel.LoadStateDict()).StateDict);
            }
            else
            {
                if (!weights!.Exists)
                    throw new FileNotFoundException($"weights file '{weights.FullName}' does not exist");
                ClassifierConfig loaded = ClassifierConfig.Load(config.FullName);
                string beside = Path.Combine(config.DirectoryName ?? ".", "test_predictions.npy");
                bool hasBeside = File.Exists(beside);
                model = new EvaluatedModel(loaded.Spec.Name, loaded.Spec, loaded.Preprocessor, loaded.Labels, loaded.TestAccuracy,
                    options => FasterNetModel.FromCheckpoint(loaded.Spec, weights.FullName, options),
                    hasBeside ? ClassIndexFile.Read(beside) : null, hasBeside ? beside : null,
                    () => CheckpointLayouts.ToOfficial(Checkpoint.Load(weights.FullName)).StateDict);
            }
            if (model.Spec.Backbone || model.Spec.NumClasses != FashionMnist.ClassNames.Count)
                throw new ArgumentException(
                    $"model {model.Name} has {(model.Spec.Backbone ? "no classifier head" : $"{model.Spec.NumClasses} classes")}; " +
                    $"Fashion-MNIST has {FashionMnist.ClassNames.Count}");
            return explicitPredictions is null
                ? model
                : model with { PyTorchPredictions = explicitPredictions, PredictionsSource = compare!.FullName };
        }
    }

    /// <summary>ONNX Runtime int8's result on the same test images.</summary>
    private sealed record Int8Outcome(int Correct, int Count, int? DifferFromPyTorch, int CalibrationImages)
    {
        public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;
    }

    /// <summary>How many of the first predictions differ from PyTorch's, and which.</summary>
    private sealed record PredictionComparison(int Compared, IReadOnlyList<int> Differing, string Source);

    private sealed class EvalReport
    {
        public EvalReport(EvaluatedModel model, FasterNetModel net, byte[] labels, int[] predictions, int batch,
                          double imagesPerSecond, double inferenceImagesPerSecond)
        {
            Model = model;
            Count = labels.Length;
            Batch = batch;
            Threads = net.Threads;
            KernelSet = net.KernelSet.ToString().ToLowerInvariant() +
                        (net.Precision == Precision.BFloat16 ? $" + {net.PrecisionKernels}" : "");
            ImagesPerSecond = imagesPerSecond;
            InferenceImagesPerSecond = inferenceImagesPerSecond;
            int classes = model.ClassNames.Count;
            Confusion = new int[classes, classes];
            for (int i = 0; i < labels.Length; i++)
                Confusion[labels[i], predictions[i]]++;
            Correct = Enumerable.Range(0, classes).Sum(c => Confusion[c, c]);
            if (model.PyTorchPredictions is { } reference)
            {
                int compared = Math.Min(reference.Count, predictions.Length);
                var differing = Enumerable.Range(0, compared).Where(i => predictions[i] != reference[i]).ToList();
                Comparison = new PredictionComparison(compared, differing, model.PredictionsSource ?? "");
            }
        }

        public EvaluatedModel Model { get; }
        public int Count { get; }
        public int Correct { get; }
        public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;

        /// <summary>[true class, predicted class] counts.</summary>
        public int[,] Confusion { get; }

        public PredictionComparison? Comparison { get; }
        public Int8Outcome? Int8 { get; set; }
        public int Batch { get; }
        public int Threads { get; }
        public string KernelSet { get; }
        public double ImagesPerSecond { get; }
        public double InferenceImagesPerSecond { get; }

        public int ClassCount(int trueClass) =>
            Enumerable.Range(0, Confusion.GetLength(1)).Sum(p => Confusion[trueClass, p]);
    }
}
