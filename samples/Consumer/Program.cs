// Runs FasterNet-T0 from the FasterNet package: loads a PyTorch checkpoint, runs a batch read from .npy and
// writes the logits as text, one per line, for ./build.sh test-package to compare across platforms.
//
//   Consumer <weights.pth> <input.npy> <logits.txt> [<pytorch logits.npy>]
using System.Globalization;
using System.Runtime.InteropServices;
using FasterNet;
using FasterNet.Serialization;

if (args.Length is < 3 or > 4)
{
    Console.Error.WriteLine("usage: Consumer <weights.pth> <input.npy> <logits.txt> [<pytorch logits.npy>]");
    return 2;
}

Console.WriteLine($"FasterNet {Runtime.Version} on {RuntimeInformation.RuntimeIdentifier} " +
                  $"({RuntimeInformation.OSDescription}), kernels {Runtime.ActiveKernelSet}");
Tensor input = Npy.Read(args[1]);
int[] shape = input.Shape;
int batch = shape[0], height = shape[2], width = shape[3];
using var model = FasterNetModel.FromCheckpoint(ModelSpec.T0, args[0], new ModelOptions { Threads = 2 });
float[] logits = model.Run(input.Data, batch, height, width);

File.WriteAllLines(args[2], logits.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
int classes = logits.Length / batch;
for (int b = 0; b < batch; b++)
{
    var top = Classification.TopK(logits.AsSpan(b * classes, classes), 3);
    Console.WriteLine($"image {b}: " + string.Join(", ", top.Select(p => $"class {p.ClassIndex} ({p.Probability:F3})")));
}

if (args.Length == 4)
{
    float[] expected = Npy.Read(args[3]).Data;
    double scale = expected.Max(v => Math.Abs(v));
    double worst = logits.Zip(expected, (a, e) => Math.Abs((double)a - e)).Max();
    Console.WriteLine($"max |FasterNet - PyTorch| / max |PyTorch| = {worst / scale:E2}");
    if (!(worst / scale <= 1e-4))
    {
        Console.Error.WriteLine("error: the logits differ from PyTorch's");
        return 1;
    }
}
return 0;
