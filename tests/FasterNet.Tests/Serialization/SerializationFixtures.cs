using System.IO.Compression;
using System.Text.Json;
using FasterNet.Serialization;

namespace FasterNet.Tests.Serialization;

/// <summary>
/// The files written by tests/fixtures/make_serialization_fixtures.py (torch and numpy) and the values
/// torch and numpy say they hold (expected.json). Found by walking up from the test binaries to the repo.
/// </summary>
internal static class SerializationFixtures
{
    private static readonly Lazy<string> LazyDirectory = new(FindDirectory);
    private static readonly Lazy<JsonDocument> LazyExpected =
        new(() => JsonDocument.Parse(File.ReadAllBytes(System.IO.Path.Combine(Directory, "expected.json"))));

    public static string Directory => LazyDirectory.Value;

    public static JsonElement Expected => LazyExpected.Value.RootElement;

    public static string Path(string name) => System.IO.Path.Combine(Directory, name);

    public static string PayloadMarker => Expected.GetProperty("payload_marker").GetString()!;

    public static IEnumerable<string> Names(string section) =>
        Expected.GetProperty(section).EnumerateObject().Select(property => property.Name).ToList();

    private static string FindDirectory()
    {
        for (var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); directory != null; directory = directory.Parent)
        {
            string candidate = System.IO.Path.Combine(directory.FullName, "tests", "fixtures", "serialization");
            if (File.Exists(System.IO.Path.Combine(candidate, "expected.json")))
                return candidate;
        }
        throw new DirectoryNotFoundException(
            "tests/fixtures/serialization not found above the test directory; run tests/fixtures/make_serialization_fixtures.py");
    }

    /// <summary>Asserts that a float tensor holds what expected.json says (exact: all values are float32).</summary>
    public static void AssertTensor(Tensor actual, JsonElement expected, string name)
    {
        int[] shape = expected.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
        float[] values = expected.GetProperty("values").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
        Assert.That(actual.Shape, Is.EqualTo(shape), $"shape of '{name}'");
        Assert.That(actual.Data, Is.EqualTo(values), $"values of '{name}'");
    }

    public static void AssertIntegerTensor(IntegerTensor actual, JsonElement expected, string name)
    {
        int[] shape = expected.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
        long[] values = expected.GetProperty("values").EnumerateArray().Select(v => v.GetInt64()).ToArray();
        Assert.That(actual.Shape, Is.EqualTo(shape), $"shape of '{name}'");
        Assert.That(actual.Data, Is.EqualTo(values), $"values of '{name}'");
        Assert.That(actual.DataType, Is.EqualTo(expected.GetProperty("dtype").GetString()), $"dtype of '{name}'");
    }

    /// <summary>Asserts a state dict has exactly the float and integer entries expected.json lists, with their values.</summary>
    public static void AssertStateDict(StateDict actual, JsonElement expected)
    {
        var tensors = expected.GetProperty("tensors");
        var integers = expected.GetProperty("integers");
        Assert.That(actual.Keys, Is.EquivalentTo(tensors.EnumerateObject().Select(p => p.Name)));
        Assert.That(actual.IntegerTensors.Keys, Is.EquivalentTo(integers.EnumerateObject().Select(p => p.Name)));
        foreach (var property in tensors.EnumerateObject())
            AssertTensor(actual[property.Name], property.Value, property.Name);
        foreach (var property in integers.EnumerateObject())
            AssertIntegerTensor(actual.IntegerTensors[property.Name], property.Value, property.Name);
    }

    /// <summary>A copy of a zip archive with some records replaced, dropped (null) or added.</summary>
    public static byte[] RewriteArchive(string fixture, Func<string, byte[], byte[]?> transform, params (string Name, byte[] Data)[] extra)
    {
        var output = new MemoryStream();
        using (var source = ZipFile.OpenRead(Path(fixture)))
        using (var target = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var entry in source.Entries)
            {
                using var reader = entry.Open();
                var buffer = new MemoryStream();
                reader.CopyTo(buffer);
                byte[]? data = transform(entry.FullName, buffer.ToArray());
                if (data != null) AddRecord(target, entry.FullName, data);
            }
            foreach (var (name, data) in extra) AddRecord(target, name, data);
        }
        return output.ToArray();
    }

    /// <summary>A torch-style archive around a hand-written pickle (the test states what the pickle means).</summary>
    public static byte[] MakeArchive(byte[] pickle, params (string Key, byte[] Data)[] storages)
    {
        var output = new MemoryStream();
        using (var archive = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            AddRecord(archive, "archive/data.pkl", pickle);
            foreach (var (key, data) in storages) AddRecord(archive, "archive/data/" + key, data);
            AddRecord(archive, "archive/version", "3\n"u8.ToArray());
        }
        return output.ToArray();
    }

    private static void AddRecord(ZipArchive archive, string name, byte[] data)
    {
        using var stream = archive.CreateEntry(name, CompressionLevel.NoCompression).Open();
        stream.Write(data);
    }

    /// <summary>Reads the data.pkl record of a fixture.</summary>
    public static byte[] ReadPickle(string fixture) => ReadRecord(fixture, null);

    /// <summary>Reads one record of a fixture archive (the data.pkl record when <paramref name="name"/> is null).</summary>
    public static byte[] ReadRecord(string fixture, string? name)
    {
        using var archive = ZipFile.OpenRead(Path(fixture));
        var entry = name is null
            ? archive.Entries.Single(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal))
            : archive.GetEntry(name) ?? throw new FileNotFoundException($"{fixture} has no record {name}");
        using var stream = entry.Open();
        var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
