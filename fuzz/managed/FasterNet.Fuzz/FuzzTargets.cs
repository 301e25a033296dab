using System.IO.Compression;
using FasterNet.Data;
using FasterNet.Imaging;
using FasterNet.Serialization;

namespace FasterNet.Fuzz;

/// <summary>
/// The parsers that read untrusted bytes, each as one fuzz target. A target may accept its input or
/// refuse it with a <see cref="FasterNetException"/> (a clear error); anything else escaping it (an
/// IndexOutOfRangeException, OverflowException, a hang, a crash) is a finding. Shared by the AFL++
/// harness (Program.cs) and the regression tests, which replay the seeds and every past finding.
/// </summary>
public static class FuzzTargets
{
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new SortedDictionary<string, Action<byte[]>>
    {
        // A whole .pth file: zip container, record names, CRCs, then the pickle inside.
        ["torch"] = bytes => TorchCheckpoint.Load(new MemoryStream(bytes), "fuzz.pth"),
        // The pickle alone (incl. the allow-list scan), wrapped in a well-formed torch.save zip so the
        // fuzzer spends its time past the container checks.
        ["pickle"] = bytes => TorchCheckpoint.Load(new MemoryStream(WrapPickle(bytes)), "fuzz.pth"),
        ["safetensors"] = bytes => SafeTensors.Read(new MemoryStream(bytes), "fuzz.safetensors"),
        ["npy"] = bytes => Npy.Read(new MemoryStream(bytes), "fuzz.npy"),
        // The same bytes as an IDX image file and as an IDX label file.
        ["idx"] = bytes =>
        {
            Refused(() => IdxReader.ReadImages(new MemoryStream(bytes), "fuzz-images-idx3-ubyte"));
            IdxReader.ReadLabels(new MemoryStream(bytes), "fuzz-labels-idx1-ubyte");
        },
        ["image"] = bytes => ImageDecoder.Decode(bytes, "fuzz.png"),
        // Hook for the server's request parser (JSON and binary tensors), once it exists:
        // ["server-request"] = bytes => InferenceRequestParser.Parse(bytes, ...),
    };

    /// <summary>Runs one target on one input; a refusal with a FasterNetException is a pass.</summary>
    public static void Run(string target, byte[] bytes)
    {
        if (!All.TryGetValue(target, out Action<byte[]>? parse))
            throw new ArgumentException($"unknown fuzz target '{target}'; targets: {string.Join(", ", All.Keys)}");
        Refused(() => parse(bytes));
    }

    private static void Refused(Action parse)
    {
        try
        {
            parse();
        }
        catch (FasterNetException)
        {
            // The promised outcome for bad input: a typed error naming what is wrong.
        }
    }

    /// <summary>A stored zip laid out as torch.save writes it, with <paramref name="pickle"/> as data.pkl.</summary>
    public static byte[] WrapPickle(byte[] pickle)
    {
        var zip = new MemoryStream();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        {
            Add(archive, "archive/data.pkl", pickle);
            Add(archive, "archive/byteorder", "little"u8.ToArray());
            for (int key = 0; key < 8; key++)  // storages "0".."7", large enough for the seeds' tensors
                Add(archive, $"archive/data/{key}", new byte[128]);
            Add(archive, "archive/version", "3\n"u8.ToArray());
        }
        return zip.ToArray();
    }

    private static void Add(ZipArchive archive, string name, byte[] data)
    {
        using Stream entry = archive.CreateEntry(name, CompressionLevel.NoCompression).Open();
        entry.Write(data);
    }
}
