using FasterNet.Serialization;

namespace FasterNet.Tests.Serialization;

/// <summary>Loading a checkpoint never runs code from it: every global outside the state_dict allow-list is refused.</summary>
[TestFixture]
[NonParallelizable] // the tests share the payload's marker path
public class PickleSafetyTests
{
    private static IEnumerable<string> ForbiddenCheckpoints => SerializationFixtures.Names("forbidden");

    [SetUp]
    public void RemoveMarker() => DeleteMarker();

    [TearDown]
    public void AssertNoPayloadRan()
    {
        bool ran = File.Exists(SerializationFixtures.PayloadMarker) || Directory.Exists(SerializationFixtures.PayloadMarker);
        DeleteMarker();
        Assert.That(ran, Is.False, "a payload from the checkpoint was executed");
    }

    private static void DeleteMarker()
    {
        if (File.Exists(SerializationFixtures.PayloadMarker)) File.Delete(SerializationFixtures.PayloadMarker);
        if (Directory.Exists(SerializationFixtures.PayloadMarker)) Directory.Delete(SerializationFixtures.PayloadMarker, recursive: true);
    }

    [TestCaseSource(nameof(ForbiddenCheckpoints))]
    public void Load_RefusesAForbiddenGlobal_NamingItAndTheFile(string fixture)
    {
        string path = SerializationFixtures.Path(fixture);
        string global = SerializationFixtures.Expected.GetProperty("forbidden").GetProperty(fixture).GetString()!;

        var exception = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(path))!;

        Assert.That(exception.Message, Does.StartWith(path));
        Assert.That(exception.Message, Does.Contain($"'{global}'"));
        Assert.That(exception.Message, Does.Contain("not allowed"));
    }

    [Test]
    public void StackGlobal_WithOperandsFromAnOverwrittenMemoSlot_IsJudgedByTheCurrentValue()
    {
        // Slot 0 first holds 'torch', then 'posix'; STACK_GLOBAL reads slot 0 and 1 -> posix.system.
        byte[] pickle = new PickleBuilder().Proto(4)
            .ShortUnicode("torch").BinPut(0).Pop()
            .ShortUnicode("posix").BinPut(0).Pop()
            .ShortUnicode("system").BinPut(1).Pop()
            .BinGet(0).BinGet(1).StackGlobal()
            .ShortUnicode("touch " + SerializationFixtures.PayloadMarker).Tuple1().Reduce().Stop().ToArray();

        var exception = LoadPickle(pickle);

        Assert.That(exception.Message, Does.Contain("'posix.system'").And.Contain("STACK_GLOBAL"));
    }

    [Test]
    public void StackGlobal_WithOperandsFromTextPutAndGetAndDup_IsFollowed()
    {
        byte[] pickle = new PickleBuilder().Proto(4)
            .Unicode("builtins").TextPut(7).Pop()
            .TextGet(7).Unicode("exec").Dup().Pop().StackGlobal()
            .Unicode("open('" + SerializationFixtures.PayloadMarker + "', 'w')").Tuple1().Reduce().Stop().ToArray();

        var exception = LoadPickle(pickle);

        Assert.That(exception.Message, Does.Contain("'builtins.exec'"));
    }

    [Test]
    public void StackGlobal_WithMemoizedOperands_IsFollowed()
    {
        byte[] pickle = new PickleBuilder().Proto(4)
            .ShortUnicode("subprocess").Memoize().ShortUnicode("Popen").Memoize().Pop().Pop()
            .BinGet(0).BinGet(1).StackGlobal()
            .Mark().ShortUnicode("touch").ShortUnicode(SerializationFixtures.PayloadMarker).Op((byte)'l').Tuple1().Reduce().Stop().ToArray();

        var exception = LoadPickle(pickle);

        Assert.That(exception.Message, Does.Contain("'subprocess.Popen'"));
    }

    [Test]
    public void StackGlobal_WhoseOperandsAreNotStrings_IsRefused()
    {
        byte[] pickle = new PickleBuilder().Proto(4).Int(1).Int(2).StackGlobal().EmptyTuple().Reduce().Stop().ToArray();

        var exception = LoadPickle(pickle);

        Assert.That(exception.Message, Does.Contain("STACK_GLOBAL").And.Contain("not a string"));
    }

    [Test]
    public void Inst_IsCheckedLikeGlobal()
    {
        byte[] pickle = new PickleBuilder().Mark().Unicode("touch " + SerializationFixtures.PayloadMarker).Inst("posix", "system").Stop().ToArray();

        var exception = LoadPickle(pickle);

        Assert.That(exception.Message, Does.Contain("'posix.system'").And.Contain("INST"));
    }

    [Test]
    public void Reduce_OnAValueThatIsNotAnAllowedGlobal_IsRefused()
    {
        byte[] pickle = new PickleBuilder().Proto(2).EmptyTuple().EmptyTuple().Reduce().Stop().ToArray();

        var exception = LoadPickle(pickle);

        Assert.That(exception.Message, Does.Contain("REDUCE").And.Contain("not an allowed global"));
    }

    [Test]
    public void ExtensionCodes_AreRefused()
    {
        byte[] pickle = new PickleBuilder().Proto(2).Op(0x82, 1).EmptyTuple().Reduce().Stop().ToArray();

        var exception = LoadPickle(pickle);

        Assert.That(exception.Message, Does.Contain("extension code"));
    }

    [Test]
    public void UnknownOpcodes_AreRefused()
    {
        byte[] pickle = new PickleBuilder().Proto(2).Op(0xfe).Stop().ToArray();

        var exception = LoadPickle(pickle);

        Assert.That(exception.Message, Does.Contain("unknown").And.Contain("0xfe"));
    }

    [Test]
    public void AnAllowedStorageTypeCalledAsAFunction_IsRefused()
    {
        byte[] pickle = new PickleBuilder().Proto(2).Global("torch", "FloatStorage").EmptyTuple().Reduce().Stop().ToArray();

        var exception = LoadPickle(pickle);

        Assert.That(exception.Message, Does.Contain("storage type is called like a function"));
    }

    [Test]
    public void AHandWrittenPickleOfAllowedGlobals_LoadsItsTensor()
    {
        // The builder's own output must be accepted, or the refusals above would prove nothing.
        byte[] pickle = new PickleBuilder().Proto(2)
            .Global("collections", "OrderedDict").EmptyTuple().Reduce()
            .Unicode("w").Tensor("FloatStorage", "0", 3, 1, [2], [1])
            .SetItem().Stop().ToArray();
        byte[] storage = new byte[12];
        BitConverter.TryWriteBytes(storage.AsSpan(4), 1.5f);
        BitConverter.TryWriteBytes(storage.AsSpan(8), -2f);

        var state = TorchCheckpoint.Load(new MemoryStream(SerializationFixtures.MakeArchive(pickle, ("0", storage))), "ok.pth");

        Assert.That(state["w"].Data, Is.EqualTo(new[] { 1.5f, -2f }));
    }

    private static CheckpointFormatException LoadPickle(byte[] pickle)
    {
        byte[] archive = SerializationFixtures.MakeArchive(pickle);
        var exception = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(new MemoryStream(archive), "hostile.pth"))!;
        Assert.That(exception.Message, Does.StartWith("hostile.pth: "));
        return exception;
    }
}
