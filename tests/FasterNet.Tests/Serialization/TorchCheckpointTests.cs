using System.Text;
using FasterNet.Serialization;

namespace FasterNet.Tests.Serialization;

[TestFixture]
public class TorchCheckpointTests
{
    private static IEnumerable<string> ValidCheckpoints => SerializationFixtures.Names("checkpoints");

    private static IEnumerable<string> InvalidCheckpoints => SerializationFixtures.Names("invalid");

    [TestCaseSource(nameof(ValidCheckpoints))]
    public void Load_ReturnsTheTensorsTorchSaved(string fixture)
    {
        var state = TorchCheckpoint.Load(SerializationFixtures.Path(fixture));

        SerializationFixtures.AssertStateDict(state, SerializationFixtures.Expected.GetProperty("checkpoints").GetProperty(fixture));
    }

    [Test]
    public void Keys_EnumerateInOrdinalOrder_WhateverThePickleOrder()
    {
        var state = TorchCheckpoint.Load(SerializationFixtures.Path("tiny_fp32.pth"));

        var keys = state.Keys.ToList();
        Assert.That(keys, Is.EqualTo(keys.Order(StringComparer.Ordinal).ToList()));
        Assert.That(state.Select(pair => pair.Key), Is.EqualTo(keys));
        Assert.That(state.Values, Is.EqualTo(keys.Select(key => state[key])));
    }

    [Test]
    public void NumBatchesTracked_IsKeptApartFromTheFloatWeights()
    {
        var state = TorchCheckpoint.Load(SerializationFixtures.Path("tiny_fp32.pth"));

        Assert.That(state.ContainsKey("1.num_batches_tracked"), Is.False);
        Assert.That(state.IntegerTensors["1.num_batches_tracked"].Data, Is.EqualTo(new long[] { 7 }));
        Assert.That(state.IntegerTensors["1.num_batches_tracked"].DataType, Is.EqualTo("int64"));
    }

    [TestCase("wrapped_model.pth")]
    [TestCase("wrapped_state_dict.pth")]
    [TestCase("module_prefix.pth")]
    public void WrappedOrPrefixedCheckpoints_GiveThePlainStateDictKeys(string fixture)
    {
        var plain = TorchCheckpoint.Load(SerializationFixtures.Path("tiny_fp32.pth"));
        var wrapped = TorchCheckpoint.Load(SerializationFixtures.Path(fixture));

        Assert.That(wrapped.Keys, Is.EqualTo(plain.Keys));
        Assert.That(wrapped.IntegerTensors.Keys, Is.EqualTo(plain.IntegerTensors.Keys));
        foreach (string key in plain.Keys)
            Assert.That(wrapped[key].Data, Is.EqualTo(plain[key].Data), key);
    }

    [Test]
    public void Load_FromANonSeekableStream_ReadsTheSameTensors()
    {
        byte[] bytes = File.ReadAllBytes(SerializationFixtures.Path("views.pth"));
        using var stream = new ForwardOnlyStream(bytes);

        var state = TorchCheckpoint.Load(stream, "views.pth");

        SerializationFixtures.AssertStateDict(state, SerializationFixtures.Expected.GetProperty("checkpoints").GetProperty("views.pth"));
    }

    [TestCaseSource(nameof(InvalidCheckpoints))]
    public void Load_RefusesBadTensorDescriptions_NamingFileAndProblem(string fixture)
    {
        string path = SerializationFixtures.Path(fixture);
        string problem = SerializationFixtures.Expected.GetProperty("invalid").GetProperty(fixture).GetString()!;

        var exception = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(path))!;

        Assert.That(exception.Message, Does.StartWith(path));
        Assert.That(exception.Message, Does.Contain(problem));
        Assert.That(exception.Message, Does.Contain("'w'"), "names the tensor");
    }

    [TestCase("legacy_format.pth", "legacy")]
    [TestCase("top_level_list.pth", "not a dict")]
    [TestCase("top_level_tensor.pth", "not a dict")]
    [TestCase("no_tensors.pth", "without tensors")]
    public void Load_RefusesFilesThatAreNotStateDicts(string fixture, string problem)
    {
        string path = SerializationFixtures.Path(fixture);

        var exception = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(path))!;

        Assert.That(exception.Message, Does.StartWith(path).And.Contain(problem));
        Assert.That(exception.FileName, Is.EqualTo(path));
    }

    [Test]
    public void Load_RefusesATruncatedFile_AtEveryCutLength()
    {
        byte[] whole = File.ReadAllBytes(SerializationFixtures.Path("tiny_fp32.pth"));
        int[] lengths = [0, 1, 3, 4, 30, 64, 200, 700, whole.Length / 2, whole.Length - 100, whole.Length - 22, whole.Length - 1];

        foreach (int length in lengths)
        {
            using var stream = new MemoryStream(whole, 0, length);
            var exception = Assert.Throws<CheckpointFormatException>(
                () => TorchCheckpoint.Load(stream, "cut.pth"), $"cut at {length} bytes")!;
            Assert.That(exception.Message, Does.StartWith("cut.pth: "));
            Assert.That(exception.Message, Does.Contain("truncated").Or.Contain("too short"), $"cut at {length} bytes");
        }
    }

    [Test]
    public void Load_RefusesAFileThatIsNotAZip()
    {
        using var stream = new MemoryStream(Encoding.ASCII.GetBytes("this is a text file, not a checkpoint"));

        var exception = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(stream, "notes.txt"))!;

        Assert.That(exception.Message, Does.StartWith("notes.txt: ").And.Contain("zip archive"));
    }

    [Test]
    public void Load_RefusesAZipWithoutDataPkl()
    {
        byte[] archive = SerializationFixtures.RewriteArchive("tiny_fp32.pth",
            (name, data) => name.EndsWith("data.pkl", StringComparison.Ordinal) ? null : data);

        var exception = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(archive), "x.pth"))!;

        Assert.That(exception.Message, Does.Contain("no data.pkl"));
    }

    [Test]
    public void Load_RefusesAMissingStorageRecord_NamingTheRecordAndTensor()
    {
        byte[] archive = SerializationFixtures.RewriteArchive("tiny_fp32.pth",
            (name, data) => name.Contains("/data/", StringComparison.Ordinal) ? null : data);

        var exception = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(archive), "x.pth"))!;

        Assert.That(exception.Message, Does.Contain("tiny_fp32/data/").And.Contain("missing"));
        Assert.That(exception.Message, Does.Match("tensor '[^']+'"));
    }

    [Test]
    public void Load_RefusesAFlippedBitInAWeight_ByTheRecordCrc()
    {
        byte[] bytes = File.ReadAllBytes(SerializationFixtures.Path("tiny_fp32.pth"));
        byte[] weight = SerializationFixtures.ReadRecord("tiny_fp32.pth", "tiny_fp32/data/0");
        int at = bytes.AsSpan().IndexOf(weight);
        Assert.That(at, Is.GreaterThan(0), "the stored record's bytes are found in the file");
        bytes[at + 5] ^= 0x40;

        var exception = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(bytes), "x.pth"))!;

        Assert.That(exception.Message, Does.Contain("tiny_fp32/data/0").And.Contain("CRC"));
    }

    [Test]
    public void Load_RefusesTwoTensorsThatDisagreeAboutTheirSharedStorage()
    {
        byte[] pickle = new PickleBuilder().Proto(2)
            .Global("collections", "OrderedDict").EmptyTuple().Reduce()
            .Unicode("a").Tensor("FloatStorage", "0", 4, 0, [4], [1]).SetItem()
            .Unicode("b").Tensor("HalfStorage", "0", 8, 0, [8], [1]).SetItem()
            .Stop().ToArray();
        byte[] archive = SerializationFixtures.MakeArchive(pickle, ("0", new byte[16]));

        var exception = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(archive), "x.pth"))!;

        Assert.That(exception.Message, Does.Contain("storage '0'").And.Contain("float16").And.Contain("float32"));
    }

    [Test]
    public void Load_RefusesAStorageRecordShorterThanItsStorage()
    {
        byte[] archive = SerializationFixtures.RewriteArchive("tiny_fp32.pth",
            (name, data) => name.EndsWith("/data/0", StringComparison.Ordinal) ? data[..(data.Length / 2)] : data);

        var exception = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(archive), "x.pth"))!;

        Assert.That(exception.Message, Does.Contain("storage too small").And.Contain("tiny_fp32/data/0"));
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(2)]
    public void Load_RefusesACorruptPickle(int corruption)
    {
        byte[] original = SerializationFixtures.ReadPickle("tiny_fp32.pth");
        byte[] corrupt = corruption switch
        {
            0 => Encoding.ASCII.GetBytes("garbage that is no pickle at all"),
            1 => original[..(original.Length / 2)], // cut mid-stream
            _ => original.Select((b, i) => i == original.Length / 3 ? (byte)0xff : b).ToArray(), // an unknown opcode or a wrong argument
        };
        byte[] archive = SerializationFixtures.RewriteArchive("tiny_fp32.pth",
            (name, data) => name.EndsWith("data.pkl", StringComparison.Ordinal) ? corrupt : data);

        var exception = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(archive), "x.pth"))!;

        Assert.That(exception.Message, Does.StartWith("x.pth: corrupt pickle in tiny_fp32/data.pkl at byte "));
    }

    [Test]
    public void Load_RefusesACorruptZipLocalHeader()
    {
        byte[] bytes = File.ReadAllBytes(SerializationFixtures.Path("tiny_fp32.pth"));
        bytes[2] = 0; // "PK\x03\x04" of the first record's local header becomes "PK\x00\x04"

        var exception = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(bytes), "x.pth"))!;

        Assert.That(exception.Message, Does.StartWith("x.pth: ").And.Contain("corrupt"));
    }

    [Test]
    public void Load_AcceptsALittleEndianByteOrderRecord_AndRefusesBigEndian()
    {
        byte[] little = SerializationFixtures.RewriteArchive("tiny_fp32.pth", (_, data) => data, ("tiny_fp32/byteorder", "little"u8.ToArray()));
        byte[] big = SerializationFixtures.RewriteArchive("tiny_fp32.pth", (_, data) => data, ("tiny_fp32/byteorder", "big"u8.ToArray()));

        var state = TorchCheckpoint.Load(new MemoryStream(little), "little.pth");
        var exception = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(big), "big.pth"))!;

        SerializationFixtures.AssertStateDict(state, SerializationFixtures.Expected.GetProperty("checkpoints").GetProperty("tiny_fp32.pth"));
        Assert.That(exception.Message, Does.Contain("big-endian"));
    }

    [Test]
    public void Load_OfAMissingFile_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => TorchCheckpoint.Load(SerializationFixtures.Path("no_such_file.pth")));
    }

    [Test]
    public void Load_RefusesAStorageCountOverflowingTheArchive_BeforeAllocating()
    {
        // One tensor viewing 2^40 elements of a 6-element record: refused from the sizes alone.
        byte[] pickle = new PickleBuilder().Proto(2)
            .Global("collections", "OrderedDict").EmptyTuple().Reduce()
            .Unicode("w").Tensor("FloatStorage", "0", 1L << 40, 0, [1L << 20, 1L << 20], [1L << 20, 1])
            .SetItem().Stop().ToArray();
        byte[] archive = SerializationFixtures.MakeArchive(pickle, ("0", new byte[24]));

        var exception = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(archive), "big.pth"))!;

        Assert.That(exception.Message, Does.Contain("'w'").And.Contain("more than can be loaded"));
    }

    /// <summary>A read-only stream that cannot seek, like a network or pipe stream.</summary>
    private sealed class ForwardOnlyStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
    }
}
