using System.Text;
using FasterNet.Data;

namespace FasterNet.Tests.Data;

/// <summary>Reading class-index arrays (.npy, integer) from hand-made bytes.</summary>
public class ClassIndexFileTests
{
    [Test]
    public void Read_Int32Vector_ReturnsTheValues()
    {
        byte[] npy = Npy("<i4", 3, [7, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0]);

        Assert.That(ClassIndexFile.Read(new MemoryStream(npy)), Is.EqualTo(new[] { 7, 0, 9 }));
    }

    [Test]
    public void Read_Int64Vector_ReturnsTheValues()
    {
        byte[] npy = Npy("<i8", 2, [1, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0]);

        Assert.That(ClassIndexFile.Read(new MemoryStream(npy)), Is.EqualTo(new[] { 1, 258 }));
    }

    [Test]
    public void Read_Truncated_SaysSoNamingTheSource()
    {
        byte[] npy = Npy("<i4", 3, [7, 0, 0, 0, 0, 0, 0, 0]);

        var exception = Assert.Throws<DatasetFormatException>(() => ClassIndexFile.Read(new MemoryStream(npy), "p.npy"))!;

        Assert.That(exception.Message, Does.StartWith("p.npy").And.Contain("truncated"));
    }

    [Test]
    public void Read_FloatArray_IsRefused()
    {
        byte[] npy = Npy("<f4", 1, [0, 0, 128, 63]);

        var exception = Assert.Throws<DatasetFormatException>(() => ClassIndexFile.Read(new MemoryStream(npy), "f.npy"))!;

        Assert.That(exception.Message, Does.Contain("not an integer array"));
    }

    [Test]
    public void Read_NegativeIndex_IsRefused()
    {
        byte[] npy = Npy("<i4", 1, [255, 255, 255, 255]);

        var exception = Assert.Throws<DatasetFormatException>(() => ClassIndexFile.Read(new MemoryStream(npy), "n.npy"))!;

        Assert.That(exception.Message, Does.Contain("element 0 is -1"));
    }

    private static byte[] Npy(string descr, int count, byte[] data)
    {
        string header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({count},), }}";
        header = header.PadRight(64 - 10 - 1) + "\n";
        byte[] text = Encoding.Latin1.GetBytes(header);
        return [0x93, .. "NUMPY"u8, 1, 0, (byte)text.Length, 0, .. text, .. data];
    }
}
