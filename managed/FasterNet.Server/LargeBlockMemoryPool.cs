using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace FasterNet.Server;

/// <summary>
/// Kestrel's connection buffers in blocks of <see cref="BlockSize"/> bytes instead of its own 4 KB. The socket
/// transport receives into what is left of one pipe segment at a time, so with 4 KB blocks a 602 KB tensor body took
/// ~150 recv calls, each followed by a pipe flush; with 64 KB blocks it takes about 20. Larger blocks (256 KB) cut
/// that to 6 but did not make c=1 faster in the A/B (docs/serving.md, "Request reads on the socket thread").
/// Idle blocks are kept up to a bound (<see cref="MaxIdleBlocks"/>); beyond it returned blocks are left to the GC.
/// </summary>
internal sealed class LargeBlockMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 64 * 1024;

    // 16 MB of idle buffers at most: enough for every block a few hundred busy connections cycle through.
    public const int MaxIdleBlocks = 256;

    private readonly ConcurrentQueue<Block> _idle = new();
    private int _idleCount;

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize)
            throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, $"at most {BlockSize} bytes per block");
        if (_idle.TryDequeue(out Block? block))
        {
            Interlocked.Decrement(ref _idleCount);
            return block;
        }
        return new Block(this);
    }

    private void Return(Block block)
    {
        if (Interlocked.Increment(ref _idleCount) > MaxIdleBlocks)
        {
            Interlocked.Decrement(ref _idleCount);
            return;
        }
        _idle.Enqueue(block);
    }

    protected override void Dispose(bool disposing)
    {
        // Blocks still rented return into the queue harmlessly; idle ones go to the GC with it.
        _idle.Clear();
    }

    private sealed class Block(LargeBlockMemoryPool pool) : IMemoryOwner<byte>
    {
        // Pinned, as Kestrel's own blocks are: the socket layer then needs no pinning per receive.
        public Memory<byte> Memory { get; } = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);

        public void Dispose() => pool.Return(this);
    }
}

/// <summary>Hands Kestrel (every endpoint's transport) <see cref="LargeBlockMemoryPool"/>s.</summary>
internal sealed class LargeBlockMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new LargeBlockMemoryPool();
}
