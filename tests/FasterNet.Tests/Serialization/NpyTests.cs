using System.Buffers.Binary;
using System.Text;
using FasterNet.Serialization;

namespace FasterNet.Tests.Serialization;

[TestFixture]
public class NpyTests
{
    private string _directory = "";

    private static IEnumerable<string> NumpyFiles => SerializationFixtures.Names("npy");

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("fasternet-npy-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [TestCaseSource(nameof(NumpyFiles))]
    public void Read_ReturnsWhatNumpySaved(string fixture)
    {
        var tensor = Npy.Read(SerializationFixtures.Path(fixture));

        SerializationFixtures.AssertTensor(tensor, SerializationFixtures.Expected.GetProperty("npy").GetProperty(fixture), fixture);
    }

    [Test]
    public void Read_RefusesFortranOrder_SayingSo()
    {
        string path = SerializationFixtures.Path("f4_fortran.npy");

        var exception = Assert.Throws<CheckpointFormatException>(() => Npy.Read(path))!;

        Assert.That(exception.Message, Does.StartWith(path).And.Contain("Fortran"));
    }

    [Test]
    public void Read_RefusesIntegerArrays_NamingTheDtype()
    {
        var exception = Assert.Throws<CheckpointFormatException>(() => Npy.Read(SerializationFixtures.Path("i8_vector.npy")))!;

        Assert.That(exception.Message, Does.Contain("unsupported dtype '<i8'"));
    }

    [TestCase(new int[0])]
    [TestCase(new[] { 7 })]
    [TestCase(new[] { 2, 3, 4 })]
    [TestCase(new[] { 0, 5 })]
    [TestCase(new[] { 1, 40, 3, 3 })]
    public void WriteThenRead_RoundTrips(int[] shape)
    {
        var random = new Random(shape.Length);
        float[] data = Enumerable.Range(0, (int)Tensor.CountElements(shape)).Select(_ => random.NextSingle() * 100 - 50).ToArray();
        string path = Path.Combine(_directory, "round.npy");

        Npy.Write(path, new Tensor(shape, data));
        var read = Npy.Read(path);

        Assert.That(read.Shape, Is.EqualTo(shape));
        Assert.That(read.Data, Is.EqualTo(data));
    }

    [TestCase(new int[0], "()")]
    [TestCase(new[] { 7 }, "(7,)")]
    [TestCase(new[] { 2, 3 }, "(2, 3)")]
    public void Write_ProducesAVersion1HeaderThatNumpyAccepts(int[] shape, string shapeText)
    {
        string path = Path.Combine(_directory, "header.npy");

        Npy.Write(path, new Tensor(shape, new float[Tensor.CountElements(shape)]));
        byte[] bytes = File.ReadAllBytes(path);

        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        string header = Encoding.Latin1.GetString(bytes, 10, headerLength);
        Assert.That(bytes[..8], Is.EqualTo(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }));
        Assert.That((10 + headerLength) % 64, Is.Zero);
        Assert.That(header, Does.EndWith("\n"));
        Assert.That(header, Does.StartWith($"{{'descr': '<f4', 'fortran_order': False, 'shape': {shapeText}, }}"));
        Assert.That(bytes.Length, Is.EqualTo(10 + headerLength + 4 * Tensor.CountElements(shape)));
    }

    private static IEnumerable<TestCaseData> BadFiles()
    {
        yield return new TestCaseData(Encoding.ASCII.GetBytes("PK\u0003\u0004 not an array"), "magic").SetName("BadMagic");
        yield return new TestCaseData(new byte[] { 0x93, (byte)'N', (byte)'U' }, "magic").SetName("ShorterThanTheMagic");
        yield return new TestCaseData(NpyFile(9, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4), "version 9.0").SetName("UnknownVersion");
        yield return new TestCaseData(NpyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 8), "truncated").SetName("TruncatedData");
        yield return new TestCaseData(NpyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 8), "trailing").SetName("TrailingData");
        yield return new TestCaseData(NpyFile(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 8), "'<c8'").SetName("ComplexDtype");
        yield return new TestCaseData(NpyFile(1, "{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }", 4), "structured").SetName("StructuredDtype");
        yield return new TestCaseData(NpyFile(1, "{'descr': '<f4', 'shape': (1,), }", 4), "keys").SetName("MissingKey");
        yield return new TestCaseData(NpyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4), "not a valid dimension").SetName("NegativeDimension");
        yield return new TestCaseData(NpyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", 4), "not a valid dimension").SetName("HugeDimension");
        yield return new TestCaseData(NpyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2147483647, 2147483647, 2147483647), }", 4), "too many elements").SetName("OverflowingShape");
        yield return new TestCaseData(NpyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", 4), "not a valid dict").SetName("UnterminatedHeader");
        yield return new TestCaseData(NpyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4, declaredHeaderLength: 60000), "header length").SetName("HeaderLengthPastTheEnd");
    }

    [TestCaseSource(nameof(BadFiles))]
    public void Read_RefusesInvalidFiles_NamingTheProblem(byte[] file, string problem)
    {
        string path = Path.Combine(_directory, "bad.npy");
        File.WriteAllBytes(path, file);

        var exception = Assert.Throws<CheckpointFormatException>(() => Npy.Read(path))!;

        Assert.That(exception.Message, Does.StartWith(path).And.Contain(problem));
    }

    /// <summary>A hand-written .npy: magic, version, header length, the header text and some data bytes.</summary>
    private static byte[] NpyFile(byte major, string header, int dataBytes, int? declaredHeaderLength = null)
    {
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', major, 0 };
        byte[] text = Encoding.Latin1.GetBytes(header + "\n");
        bytes.AddRange(BitConverter.GetBytes((ushort)(declaredHeaderLength ?? text.Length)));
        bytes.AddRange(text);
        bytes.AddRange(new byte[dataBytes]);
        return [.. bytes];
    }
}
