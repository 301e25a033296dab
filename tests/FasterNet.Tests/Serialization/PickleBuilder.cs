using System.Buffers.Binary;
using System.Text;

namespace FasterNet.Tests.Serialization;

/// <summary>Writes pickle opcodes by name, so tests can state exactly the stream a hostile file would hold.</summary>
internal sealed class PickleBuilder
{
    private readonly List<byte> _bytes = [];

    public PickleBuilder Proto(byte version) => Op(0x80, version);
    public PickleBuilder Mark() => Op((byte)'(');
    public PickleBuilder Global(string module, string name) => Op((byte)'c').Text($"{module}\n{name}\n");
    public PickleBuilder Inst(string module, string name) => Op((byte)'i').Text($"{module}\n{name}\n");
    public PickleBuilder StackGlobal() => Op(0x93);
    public PickleBuilder Unicode(string value)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(value);
        Op((byte)'X');
        Int32(utf8.Length);
        _bytes.AddRange(utf8);
        return this;
    }
    public PickleBuilder ShortUnicode(string value)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(value);
        return Op(0x8c, (byte)utf8.Length).Raw(utf8);
    }
    public PickleBuilder TextPut(int index) => Op((byte)'p').Text($"{index}\n");
    public PickleBuilder TextGet(int index) => Op((byte)'g').Text($"{index}\n");
    public PickleBuilder BinPut(byte index) => Op((byte)'q', index);
    public PickleBuilder BinGet(byte index) => Op((byte)'h', index);
    public PickleBuilder Memoize() => Op(0x94);
    public PickleBuilder Dup() => Op((byte)'2');
    public PickleBuilder Pop() => Op((byte)'0');
    public PickleBuilder Int(byte value) => Op((byte)'K', value);
    public PickleBuilder Long(long value)
    {
        byte[] bytes = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        return Op(0x8a, 8).Raw(bytes);
    }
    public PickleBuilder False() => Op(0x89);
    public PickleBuilder EmptyDict() => Op((byte)'}');
    public PickleBuilder EmptyTuple() => Op((byte)')');
    public PickleBuilder Tuple() => Op((byte)'t');
    public PickleBuilder Tuple1() => Op(0x85);
    public PickleBuilder Tuple2() => Op(0x86);
    public PickleBuilder Reduce() => Op((byte)'R');
    public PickleBuilder BinPersId() => Op((byte)'Q');
    public PickleBuilder SetItem() => Op((byte)'s');
    public PickleBuilder Stop() => Op((byte)'.');
    public PickleBuilder Op(params byte[] bytes) => Raw(bytes);

    /// <summary>Pushes the persistent id of a torch storage: ('storage', torch.&lt;type&gt;, key, 'cpu', numel), resolved.</summary>
    public PickleBuilder Storage(string storageType, string key, long elementCount) =>
        Mark().Unicode("storage").Global("torch", storageType).Unicode(key).Unicode("cpu").Long(elementCount).Tuple().BinPersId();

    /// <summary>Pushes _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()).</summary>
    public PickleBuilder Tensor(string storageType, string key, long elementCount, long offset, long[] size, long[] stride)
    {
        Global("torch._utils", "_rebuild_tensor_v2").Mark().Storage(storageType, key, elementCount).Long(offset);
        Mark(); foreach (long s in size) Long(s); Tuple();
        Mark(); foreach (long s in stride) Long(s); Tuple();
        return False().Global("collections", "OrderedDict").EmptyTuple().Reduce().Tuple().Reduce();
    }

    public byte[] ToArray() => [.. _bytes];

    private PickleBuilder Raw(byte[] bytes)
    {
        _bytes.AddRange(bytes);
        return this;
    }

    private PickleBuilder Text(string text) => Raw(Encoding.ASCII.GetBytes(text));

    private void Int32(int value)
    {
        byte[] bytes = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        _bytes.AddRange(bytes);
    }
}
