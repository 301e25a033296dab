namespace FasterNet;

/// <summary>The kernel implementations a model runs with.</summary>
public enum KernelSet
{
    /// <summary>The best set this CPU supports (or the one FASTERNET_KERNELS names).</summary>
    Auto = 0,
    /// <summary>Portable scalar loops: the oracle the fast sets are tested against.</summary>
    Reference = 1,
    Avx2 = 2,
    Avx512 = 3,
    Neon = 4,
}

/// <summary>How a model runs. The defaults use every core and the best kernels.</summary>
public sealed record ModelOptions
{
    /// <summary>Threads per inference call; 0 means one per core.</summary>
    public int Threads { get; init; }

    /// <summary>Which kernels to use; <see cref="KernelSet.Auto"/> picks the best the CPU supports.</summary>
    public KernelSet KernelSet { get; init; } = KernelSet.Auto;

    public static ModelOptions Default { get; } = new();
}
