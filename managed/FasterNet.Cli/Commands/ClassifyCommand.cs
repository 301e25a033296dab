using System.CommandLine;
using System.Text.Json;
using FasterNet.Data;
using FasterNet.Imaging;

namespace FasterNet.Cli.Commands;

/// <summary>
/// `fasternet classify`: top-k labels with probabilities for image files and folders. The built-in Fashion-MNIST
/// model by default; the ImageNet variants with the official evaluation pre-processing and ImageNet class names.
/// Unreadable files are reported one by one while the rest go on; the exit code is 1 if any failed.
/// </summary>
internal static class ClassifyCommand
{
    public static Command Create()
    {
        var inputs = new Argument<string[]>("inputs")
        {
            Description = "Image files or folders of images (JPEG, PNG, WebP, BMP, GIF)",
            Arity = ArgumentArity.OneOrMore,
        };
        var model = new Option<string>("--model", "-m")
        {
            Description = "default (the built-in Fashion-MNIST model) or an ImageNet variant: t0, t1, t2, s, m, l",
            DefaultValueFactory = _ => "default",
        };
        var weights = new Option<FileInfo?>("--weights", "-w")
        {
            Description = "Checkpoint for an ImageNet --model or a --config (without it those use seeded random weights), " +
                          "or a hub snapshot folder (variant, classes and pre-processing from its config.json)",
        };
        var config = new Option<FileInfo?>("--config")
        {
            Description = "config.json of a custom classifier (constructor arguments, pre-processing, class_names); overrides --model",
        };
        var top = new Option<int>("--top", "-k") { Description = "Classes to show per image", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch", "-b") { Description = "Images per inference call", DefaultValueFactory = _ => 32 };
        var threads = CommonOptions.Threads();
        var isa = CommonOptions.Isa();
        var precision = CommonOptions.Precision();
        var json = CommonOptions.Json();
        var command = new Command("classify", "Top-k classes of images (files or folders)")
        {
            inputs, model, weights, config, top, batch, threads, isa, precision, json,
        };
        command.SetAction(result => CommonOptions.Guard(() =>
        {
            int k = result.GetValue(top), batchSize = result.GetValue(batch), threadCount = result.GetValue(threads);
            if (k <= 0)
                throw new ArgumentException($"--top {k} must be positive");
            if (batchSize <= 0)
                throw new ArgumentException($"--batch {batchSize} must be positive");
            Classifier classifier = Classifier.Resolve(result.GetValue(model)!, result.GetResult(model) is { Implicit: false },
                                                       result.GetValue(weights), result.GetValue(config));

            var failures = new List<Failure>();
            List<string> files = ExpandInputs(result.GetValue(inputs)!, failures);
            foreach (Failure failure in failures)
                Console.Error.WriteLine($"error: {failure.Message}");
            var results = new List<ImageResult>();
            if (files.Count > 0)
            {
                using FasterNetModel net = classifier.Load(threadCount, result.GetValue(isa)!, result.GetValue(precision)!);
                ClassifyAll(net, classifier, files, k, batchSize, threadCount, results, failures);
            }

            if (result.GetValue(json))
                PrintJson(classifier, results, failures);
            else
                PrintText(results);
            return failures.Count == 0 ? 0 : 1;
        }));
        return command;
    }

    private static List<string> ExpandInputs(IEnumerable<string> inputs, List<Failure> failures)
    {
        var files = new List<string>();
        foreach (string input in inputs)
        {
            if (Directory.Exists(input))
            {
                var images = Directory.EnumerateFiles(input)
                    .Where(ImageDecoder.HasImageExtension)
                    .Order(StringComparer.Ordinal)
                    .ToList();
                if (images.Count == 0)
                    failures.Add(new Failure(input, $"{input}: the folder has no image files ({string.Join(", ", ImageDecoder.FileExtensions)})"));
                files.AddRange(images);
            }
            else if (File.Exists(input))
            {
                files.Add(input);
            }
            else
            {
                failures.Add(new Failure(input, $"{input}: no such file or folder"));
            }
        }
        return files;
    }

    private static void ClassifyAll(FasterNetModel net, Classifier classifier, List<string> files, int k, int batchSize,
                                    int threads, List<ImageResult> results, List<Failure> failures)
    {
        Preprocessor preprocessor = classifier.Preprocessor;
        int size = preprocessor.Options.Size, perImage = preprocessor.ValuesPerImage, classes = net.Spec.NumClasses;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount };

        ProgressReporter.Run("classify", files.Count, showPlainLines: files.Count > batchSize, advance =>
        {
            foreach (string[] chunk in files.Chunk(batchSize))
            {
                var input = new float[chunk.Length * perImage];
                var errors = new string?[chunk.Length];
                // Decoding and resizing are independent per file and cost more than the inference on big photos.
                Parallel.For(0, chunk.Length, parallel, i =>
                {
                    try
                    {
                        preprocessor.ProcessInto(ImageDecoder.Decode(chunk[i]), input.AsSpan(i * perImage, perImage));
                    }
                    catch (Exception e) when (e is FasterNetException or IOException or UnauthorizedAccessException)
                    {
                        errors[i] = e.Message.StartsWith(chunk[i], StringComparison.Ordinal) ? e.Message : $"{chunk[i]}: {e.Message}";
                    }
                });

                var good = Enumerable.Range(0, chunk.Length).Where(i => errors[i] is null).ToArray();
                foreach (int i in Enumerable.Range(0, chunk.Length).Where(i => errors[i] is not null))
                {
                    Console.Error.WriteLine($"error: {errors[i]}");
                    failures.Add(new Failure(chunk[i], errors[i]!));
                }
                if (good.Length > 0)
                {
                    var packed = new float[good.Length * perImage];
                    for (int j = 0; j < good.Length; j++)
                        input.AsSpan(good[j] * perImage, perImage).CopyTo(packed.AsSpan(j * perImage, perImage));
                    float[] logits = net.Run(packed, good.Length, size, size);
                    for (int j = 0; j < good.Length; j++)
                    {
                        Prediction[] predictions = Classification.TopK(logits.AsSpan(j * classes, classes),
                            Math.Min(k, classes), classifier.Labels);
                        results.Add(new ImageResult(chunk[good[j]], predictions));
                    }
                }
                advance(chunk.Length);
            }
        });
    }

    private static void PrintText(List<ImageResult> results)
    {
        foreach (ImageResult result in results)
        {
            Console.WriteLine(result.File);
            foreach (Prediction p in result.Predictions)
                Console.WriteLine($"  {p.Probability * 100,7:F2}%  {p.Label}");
        }
    }

    private static void PrintJson(Classifier classifier, List<ImageResult> results, List<Failure> failures)
    {
        var document = new
        {
            model = classifier.Name,
            results = results.Select(r => new
            {
                file = r.File,
                top = r.Predictions.Select(p => new { @class = p.ClassIndex, label = p.Label, probability = p.Probability }),
            }),
            errors = failures.Select(f => new { file = f.File, error = f.Message }),
        };
        Console.WriteLine(JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
    }

    private sealed record ImageResult(string File, Prediction[] Predictions);

    private sealed record Failure(string File, string Message);

    /// <summary>A model with the pre-processing and class names that belong to it.</summary>
    private sealed record Classifier(
        string Name,
        Preprocessor Preprocessor,
        IReadOnlyList<string> Labels,
        Func<int, string, string, FasterNetModel> Load)
    {
        public static Classifier Resolve(string model, bool modelGiven, FileInfo? weights, FileInfo? config)
        {
            if (CommonOptions.Snapshot(weights) is { } snapshot)
            {
                // A hub snapshot brings its variant, class count, pre-processing and possibly label names.
                ModelSpec snapshotSpec = CommonOptions.SnapshotSpec(snapshot, modelGiven ? model : null, config);
                IReadOnlyList<string> labels = snapshot.LabelNames ??
                    (snapshotSpec.NumClasses == ImageNetClasses.Names.Count
                        ? ImageNetClasses.Names
                        : Enumerable.Range(0, snapshotSpec.NumClasses).Select(i => $"class {i}").ToArray());
                return new Classifier($"{snapshot.Architecture} ({snapshot.Directory})", Preprocessor.FromPretrained(snapshot.Pretrained),
                    labels, (threads, isa, precision) => CommonOptions.LoadModel(snapshotSpec, weights, threads, isa, precision));
            }
            if (config is not null)
            {
                ClassifierConfig loaded = ClassifierConfig.Load(config.FullName);
                return new Classifier(loaded.Spec.Name, loaded.Preprocessor, loaded.Labels,
                    (threads, isa, precision) => CommonOptions.LoadModel(loaded.Spec, weights, threads, isa, precision));
            }
            if (string.Equals(model, "default", StringComparison.OrdinalIgnoreCase))
            {
                if (weights is not null)
                    throw new ArgumentException("--weights needs --config, or an ImageNet --model (t0, t1, t2, s, m, l)");
                return new Classifier($"{DefaultModel.Name} (built-in)", DefaultModel.Preprocessor, DefaultModel.ClassNames,
                    (threads, isa, precision) => DefaultModel.Load(new ModelOptions
                    {
                        Threads = threads, KernelSet = Runtime.ParseKernelSet(isa), Precision = CommonOptions.ParsePrecision(precision),
                    }));
            }
            ModelSpec spec = ModelSpec.FromName(model);
            return new Classifier(spec.Name, Preprocessor.ForImageNet(), ImageNetClasses.Names,
                (threads, isa, precision) => CommonOptions.LoadModel(spec, weights, threads, isa, precision));
        }
    }
}
