using System.Buffers;
using NUnit.Framework;

namespace FasterNet.Server.Tests;

/// <summary>The connection buffer pool Kestrel gets (the server's REST and gRPC tests run over it too).</summary>
public class LargeBlockMemoryPoolTests
{
    [Test]
    public void BlocksAreLargeAndReusedAfterDispose()
    {
        using var pool = new LargeBlockMemoryPool();
        Assert.That(pool.MaxBufferSize, Is.EqualTo(LargeBlockMemoryPool.BlockSize));
        IMemoryOwner<byte> first = pool.Rent();
        Assert.That(first.Memory.Length, Is.EqualTo(LargeBlockMemoryPool.BlockSize));
        IMemoryOwner<byte> small = pool.Rent(10);
        Assert.That(small.Memory.Length, Is.EqualTo(LargeBlockMemoryPool.BlockSize), "a small request still gets a whole block");
        Assert.That(small, Is.Not.SameAs(first));
        first.Dispose();
        Assert.That(pool.Rent(100), Is.SameAs(first), "a returned block is handed out again");
    }

    [Test]
    public void MoreThanABlockIsRefused() =>
        Assert.That(() => new LargeBlockMemoryPool().Rent(LargeBlockMemoryPool.BlockSize + 1),
            Throws.TypeOf<ArgumentOutOfRangeException>());

    [Test]
    public void IdleBlocksAreBounded()
    {
        using var pool = new LargeBlockMemoryPool();
        var rented = Enumerable.Range(0, LargeBlockMemoryPool.MaxIdleBlocks + 10).Select(_ => pool.Rent()).ToList();
        foreach (IMemoryOwner<byte> block in rented)
            block.Dispose();
        var again = new HashSet<IMemoryOwner<byte>>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < LargeBlockMemoryPool.MaxIdleBlocks + 10; i++)
            again.Add(pool.Rent());
        int reused = again.Count(rented.Contains);
        Assert.That(reused, Is.EqualTo(LargeBlockMemoryPool.MaxIdleBlocks), "only MaxIdleBlocks blocks were kept");
    }
}
