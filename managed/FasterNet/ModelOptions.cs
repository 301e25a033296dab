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

/// <summary>Arithmetic of the network's matrix products.</summary>
public enum Precision
{
    /// <summary>float32 throughout (the default).</summary>
    Float32 = 0,
    /// <summary>
    /// Weights (after batch-norm folding) and GEMM inputs rounded to bfloat16, float32 accumulation, float32
    /// bias, activation, residual stream and output. Needs AMX or AVX512-BF16, or <see cref="KernelSet.Reference"/>
    /// (slow, exact rounding); elsewhere creating the model throws <see cref="FasterNetException"/>.
    /// </summary>
    BFloat16 = 1,
}

/// <summary>How a model runs. The defaults use every core and the best kernels.</summary>
public sealed record ModelOptions
{
    /// <summary>Threads per inference call; 0 means one per core.</summary>
    public int Threads { get; init; }

    /// <summary>Which kernels to use; <see cref="KernelSet.Auto"/> picks the best the CPU supports.</summary>
    public KernelSet KernelSet { get; init; } = KernelSet.Auto;

    /// <summary>float32 (default) or bfloat16 matrix products.</summary>
    public Precision Precision { get; init; } = Precision.Float32;

    public static ModelOptions Default { get; } = new();
}
