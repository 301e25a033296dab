using System.Buffers.Binary;
using System.Text;
using FasterNet.Serialization;

namespace FasterNet.Tests.Serialization;

[TestFixture]
public class SafeTensorsTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("fasternet-safetensors-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void Read_ConvertsEveryFloatTypeToFloat32_AndKeepsIntegersApart()
    {
        var expected = SerializationFixtures.Expected.GetProperty("safetensors").GetProperty("mixed.safetensors");

        var state = SafeTensors.Read(SerializationFixtures.Path("mixed.safetensors"), out var metadata);

        SerializationFixtures.AssertStateDict(state, expected);
        var expectedMetadata = expected.GetProperty("metadata").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.That(metadata, Is.EquivalentTo(expectedMetadata));
    }

    [Test]
    public void WriteThenRead_RoundTripsTensorsIntegersAndMetadata()
    {
        var random = new Random(3);
        var original = new StateDict(
            [
                new("b.weight", new Tensor([2, 3], Enumerable.Range(0, 6).Select(_ => random.NextSingle() - 0.5f).ToArray())),
                new("a.bias", new Tensor([3], [float.MaxValue, -0f, float.Epsilon])),
                new("scalar", new Tensor([], [42f])),
                new("empty", new Tensor([0, 4], [])),
            ],
            [new("bn.num_batches_tracked", new IntegerTensor([], [long.MaxValue]))]);
        string path = Path.Combine(_directory, "round.safetensors");

        SafeTensors.Write(path, original, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode <ok>" });
        var read = SafeTensors.Read(path, out var metadata);

        Assert.That(read.Keys, Is.EqualTo(original.Keys));
        foreach (string key in original.Keys)
        {
            Assert.That(read[key].Shape, Is.EqualTo(original[key].Shape), key);
            Assert.That(read[key].Data, Is.EqualTo(original[key].Data), key);
        }
        Assert.That(read.IntegerTensors["bn.num_batches_tracked"].Data, Is.EqualTo(new[] { long.MaxValue }));
        Assert.That(metadata["note"], Is.EqualTo("ünïcode <ok>"));
    }

    [Test]
    public void Write_SortsKeys_PadsTheHeaderToEightBytesWithSpaces_AndWritesLittleEndianF32()
    {
        var state = new StateDict([new("z", new Tensor([1], [1f])), new("a", new Tensor([2], [2f, -3f]))]);
        string path = Path.Combine(_directory, "layout.safetensors");

        SafeTensors.Write(path, state);
        byte[] bytes = File.ReadAllBytes(path);

        long headerSize = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)headerSize);
        Assert.That(headerSize % 8, Is.Zero);
        Assert.That(header.TrimEnd(' '), Does.EndWith("}"));
        Assert.That(header.IndexOf("\"a\"", StringComparison.Ordinal), Is.LessThan(header.IndexOf("\"z\"", StringComparison.Ordinal)));
        Assert.That(header, Does.Contain("\"dtype\":\"F32\""));
        Assert.That(header, Does.Contain("\"data_offsets\":[0,8]").And.Contain("\"data_offsets\":[8,12]"));
        Assert.That(BitConverter.ToSingle(bytes, 8 + (int)headerSize + 4), Is.EqualTo(-3f));
        Assert.That(bytes.Length, Is.EqualTo(8 + headerSize + 12));
    }

    private static IEnumerable<TestCaseData> BadFiles()
    {
        byte[] twelve = new byte[12];
        yield return new TestCaseData(new byte[] { 1, 2, 3 }, "too short").SetName("TooShortForTheSizeField");
        yield return new TestCaseData(RawFile(ulong.MaxValue, "{}", []), "limit").SetName("HugeHeaderSize");
        yield return new TestCaseData(RawFile(500, "{}", []), "truncated").SetName("HeaderSizePastTheEnd");
        yield return new TestCaseData(Header("[1, 2]", []), "'{'").SetName("HeaderNotAnObject");
        yield return new TestCaseData(Header("{\"a\": {\"dtype\": \"F32\"", []), "not valid JSON").SetName("HeaderNotJson");
        yield return new TestCaseData(Header("""{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}, "a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}}""", twelve), "twice").SetName("DuplicateName");
        yield return new TestCaseData(Header("""{"a": {"dtype": "C64", "shape": [3], "data_offsets": [0, 12]}}""", twelve), "unsupported dtype 'C64'").SetName("UnsupportedDtype");
        yield return new TestCaseData(Header("""{"a": {"dtype": "F32", "shape": [-3], "data_offsets": [0, 12]}}""", twelve), "non-negative").SetName("NegativeDimension");
        yield return new TestCaseData(Header("""{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}}""", twelve), "span 12 bytes").SetName("ShapeDisagreesWithOffsets");
        yield return new TestCaseData(Header("""{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}}""", new byte[8]), "truncated").SetName("DataTruncated");
        yield return new TestCaseData(Header("""{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}""", twelve), "overlaps").SetName("OverlappingTensors");
        yield return new TestCaseData(Header("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}""", twelve), "hole").SetName("HoleBeforeATensor");
        yield return new TestCaseData(Header("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}""", twelve), "cover 8 bytes").SetName("TrailingBytes");
        yield return new TestCaseData(Header("""{"a": {"dtype": "F32", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 12]}}""", twelve), "too large").SetName("HugeDimension");
        yield return new TestCaseData(Header("""{"a": {"dtype": "F64", "shape": [2147483647, 2147483647, 2147483647], "data_offsets": [0, 12]}}""", twelve), "overflows").SetName("OverflowingShape");
        yield return new TestCaseData(Header("""{"__metadata__": {"epoch": 3}}""", []), "not a string").SetName("NonStringMetadata");
        yield return new TestCaseData(Header("""{"a": {"dtype": "F32", "shape": [3]}}""", twelve), "data_offsets").SetName("MissingOffsets");
        byte[] badUtf8 = Header("""{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}}""", twelve);
        badUtf8[8 + 2] = 0xC3; // the name "a" becomes a lone UTF-8 lead byte
        yield return new TestCaseData(badUtf8, "UTF-8").SetName("InvalidUtf8InAName");
    }

    [TestCaseSource(nameof(BadFiles))]
    public void Read_RefusesInvalidFiles_NamingTheProblem(byte[] file, string problem)
    {
        string path = Path.Combine(_directory, "bad.safetensors");
        File.WriteAllBytes(path, file);

        var exception = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Read(path))!;

        Assert.That(exception.Message, Does.StartWith(path).And.Contain(problem));
    }

    private static byte[] Header(string json, byte[] data) => RawFile((ulong)Encoding.UTF8.GetByteCount(json), json, data);

    private static byte[] RawFile(ulong declaredSize, string json, byte[] data)
    {
        var bytes = new List<byte>(new byte[8]);
        BinaryPrimitives.WriteUInt64LittleEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes), declaredSize);
        bytes.AddRange(Encoding.UTF8.GetBytes(json));
        bytes.AddRange(data);
        return [.. bytes];
    }
}
