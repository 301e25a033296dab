/*
 * FasterNet.NET native runtime: the plain C ABI.
 *
 * Conventions
 * - Every function that can fail returns a fasternet_status; on failure
 *   fasternet_last_error() returns a message naming the argument, tensor or
 *   shape that is wrong. The message is thread-local and stays valid until the
 *   next failing call on the same thread.
 * - Tensors cross the ABI as float32, NCHW (PyTorch's layout), C order.
 * - A model is immutable once created; fasternet_model_run may be called from
 *   many threads at once on the same model.
 * - No C++ exception ever escapes this interface.
 */
#ifndef FASTERNET_H
#define FASTERNET_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define FASTERNET_API __declspec(dllexport)
#else
#define FASTERNET_API __attribute__((visibility("default")))
#endif

#define FASTERNET_MAX_STAGES 8
#define FASTERNET_MAX_DIMS 8

typedef enum fasternet_status {
    FASTERNET_OK = 0,
    FASTERNET_INVALID_ARGUMENT = 1,
    FASTERNET_SHAPE_MISMATCH = 2,
    FASTERNET_MISSING_TENSOR = 3,
    FASTERNET_UNEXPECTED_TENSOR = 4,
    FASTERNET_OUT_OF_MEMORY = 5,
    FASTERNET_UNSUPPORTED = 6,
    FASTERNET_INTERNAL_ERROR = 7,
    FASTERNET_CANCELLED = 8 /* a run stopped early because its cancel flag was set */
} fasternet_status;

typedef enum fasternet_activation {
    FASTERNET_ACTIVATION_NONE = 0,
    FASTERNET_ACTIVATION_RELU = 1,
    FASTERNET_ACTIVATION_GELU = 2
} fasternet_activation;

/* Kernel sets, best first on each architecture. AUTO picks the best one the CPU supports. */
typedef enum fasternet_kernel_set {
    FASTERNET_KERNELS_AUTO = 0,
    FASTERNET_KERNELS_REFERENCE = 1,
    FASTERNET_KERNELS_AVX2 = 2,
    FASTERNET_KERNELS_AVX512 = 3,
    FASTERNET_KERNELS_NEON = 4
} fasternet_kernel_set;

/* CPU feature bits reported by fasternet_cpu_features. */
typedef enum fasternet_cpu_feature {
    FASTERNET_CPU_AVX2 = 1 << 0,
    FASTERNET_CPU_FMA = 1 << 1,
    FASTERNET_CPU_AVX512F = 1 << 2,
    FASTERNET_CPU_AVX512BW = 1 << 3,
    FASTERNET_CPU_AVX512VL = 1 << 4,
    FASTERNET_CPU_AVX512DQ = 1 << 5,
    FASTERNET_CPU_AVX512BF16 = 1 << 6,
    FASTERNET_CPU_NEON = 1 << 7
} fasternet_cpu_feature;

/*
 * A FasterNet configuration, the official model's constructor arguments.
 * Stage i has embed_dim * 2^i channels; between stages a merging conv
 * (patch_size2 x patch_size2, stride patch_stride2) doubles the channels.
 * With backbone != 0 there is no head and the model returns one normalised
 * feature map per stage (the official fork_feat mode).
 */
typedef struct fasternet_model_config {
    int32_t in_channels;
    int32_t num_classes;
    int32_t embed_dim;
    int32_t num_stages;
    int32_t depths[FASTERNET_MAX_STAGES];
    int32_t n_div;
    float mlp_ratio;
    int32_t patch_size;
    int32_t patch_stride;
    int32_t patch_size2;
    int32_t patch_stride2;
    int32_t feature_dim;
    fasternet_activation activation;
    int32_t backbone;
} fasternet_model_config;

/*
 * Arithmetic of the network's GEMMs. BFLOAT16: weights (after batch-norm
 * folding) and GEMM inputs rounded to bf16 (nearest even), fp32 accumulation,
 * fp32 bias, activation, residual stream and output. Runs on AMX or
 * AVX512-BF16, or on the reference kernels (slow, exact rounding); elsewhere
 * model creation fails with FASTERNET_UNSUPPORTED.
 */
typedef enum fasternet_precision {
    FASTERNET_PRECISION_FLOAT32 = 0,
    FASTERNET_PRECISION_BFLOAT16 = 1
} fasternet_precision;

/* Run-time options of a model. Zero-initialised options mean: all cores, best kernel set, float32. */
typedef struct fasternet_model_options {
    int32_t num_threads;              /* 0: the number of cores */
    fasternet_kernel_set kernel_set;  /* AUTO: the process-wide choice */
    fasternet_precision precision;    /* FLOAT32 (default) or BFLOAT16 */
    /* Activation memory kept for reuse between runs (one buffer per run that was in flight),
       at most this many bytes; the least recently used buffers beyond it are freed. 0: no limit. */
    int64_t max_idle_scratch_bytes;
} fasternet_model_options;

/*
 * One named float32 tensor of a PyTorch state_dict, with its official name
 * (e.g. "stages.0.blocks.0.mlp.0.weight"). The data is copied during
 * fasternet_model_create and not referenced afterwards.
 */
typedef struct fasternet_tensor {
    const char* name;
    const float* data;
    int32_t ndim;
    int64_t shape[FASTERNET_MAX_DIMS];
} fasternet_tensor;

typedef struct fasternet_model fasternet_model;

/* Library version, e.g. "0.1.0". */
FASTERNET_API const char* fasternet_version(void);

/* The last error on this thread, or "" when there was none. */
FASTERNET_API const char* fasternet_last_error(void);

/* Bitmask of fasternet_cpu_feature found on this CPU. */
FASTERNET_API uint32_t fasternet_cpu_features(void);

/*
 * This CPU as the kernels see it, as text (one fact a line): model, logical cores,
 * features, cache sizes (CPUID or sysfs) and the tile and blocking choices derived
 * from them per kernel set. The string lives as long as the library.
 */
FASTERNET_API const char* fasternet_cpu_report(void);

/* The kernel set used by models created with FASTERNET_KERNELS_AUTO. */
FASTERNET_API fasternet_kernel_set fasternet_active_kernel_set(void);

/* Lower-case name of a kernel set ("reference", "avx2", "avx512", "neon", "auto"). */
FASTERNET_API const char* fasternet_kernel_set_name(fasternet_kernel_set kernel_set);

/* Non-zero when this build and CPU can run the kernel set. */
FASTERNET_API int32_t fasternet_kernel_set_supported(fasternet_kernel_set kernel_set);

/*
 * Forces the process-wide kernel set (AUTO restores the CPU's best). The
 * environment variable FASTERNET_KERNELS (reference|avx2|avx512|neon) does the
 * same at start-up. Fails when the CPU or the build cannot run the set.
 */
FASTERNET_API fasternet_status fasternet_force_kernel_set(fasternet_kernel_set kernel_set);

/*
 * Multiply-accumulates of one image at height x width, and parameters: conv and
 * linear weights plus the classifier bias (batch norms excluded, as inference
 * folds them; the paper counts the same way).
 */
FASTERNET_API fasternet_status fasternet_config_cost(const fasternet_model_config* config, int32_t height,
                                                     int32_t width, int64_t* macs, int64_t* parameters);

/*
 * Creates a model from a state_dict. Batch-norm layers are folded into the
 * convolutions, weights are packed for the chosen kernels. Every expected
 * tensor must be present with its exact shape; an extra tensor is an error
 * (num_batches_tracked entries may be left out).
 */
FASTERNET_API fasternet_status fasternet_model_create(const fasternet_model_config* config,
                                                      const fasternet_tensor* tensors, int32_t tensor_count,
                                                      const fasternet_model_options* options,
                                                      fasternet_model** model);

/* Creates a model with seeded random weights (for benchmarks and tests). */
FASTERNET_API fasternet_status fasternet_model_create_random(const fasternet_model_config* config, uint64_t seed,
                                                             const fasternet_model_options* options,
                                                             fasternet_model** model);

FASTERNET_API void fasternet_model_destroy(fasternet_model* model);

/*
 * Frees the model's idle activation buffers unused for at least idle_seconds (0: all of them);
 * freed_bytes (may be null) receives how many bytes were freed. Safe while other threads run
 * the model: buffers in use are not idle.
 */
FASTERNET_API fasternet_status fasternet_model_trim_scratch(const fasternet_model* model, double idle_seconds,
                                                            int64_t* freed_bytes);

/* Activation memory the model keeps idle between runs: bytes and buffers (either may be null). */
FASTERNET_API fasternet_status fasternet_model_scratch_usage(const fasternet_model* model, int64_t* idle_bytes,
                                                             int32_t* idle_buffers);

/* The kernel set and thread count a model runs with. */
FASTERNET_API fasternet_kernel_set fasternet_model_kernel_set(const fasternet_model* model);
FASTERNET_API int32_t fasternet_model_num_threads(const fasternet_model* model);

/* The precision a model runs with, and the name of its bf16 kernels ("avx512_bf16", "amx_bf16",
 * "reference_bf16"; "" for a float32 model). */
FASTERNET_API fasternet_precision fasternet_model_precision(const fasternet_model* model);
FASTERNET_API const char* fasternet_model_precision_kernels(const fasternet_model* model);

/* Number of outputs: 1 for a classifier (logits), num_stages for a backbone. */
FASTERNET_API int32_t fasternet_model_output_count(const fasternet_model* model);

/*
 * Shape (N, C, H, W; a classifier's logits are N, classes, 1, 1) of output
 * `index` for an input of batch x in_channels x height x width. Fails with a
 * message when the input is too small for the network.
 */
FASTERNET_API fasternet_status fasternet_model_output_shape(const fasternet_model* model, int32_t batch,
                                                            int32_t height, int32_t width, int32_t index,
                                                            int64_t shape[4]);

/*
 * Runs the whole network on an NCHW input of batch x in_channels x height x
 * width floats. outputs[i] receives output i (output_sizes[i] floats, checked
 * against fasternet_model_output_shape).
 */
FASTERNET_API fasternet_status fasternet_model_run(const fasternet_model* model, const float* input,
                                                   int64_t input_size, int32_t batch, int32_t height,
                                                   int32_t width, int32_t output_count, float* const* outputs,
                                                   const int64_t* output_sizes);

/*
 * fasternet_model_run with a cancel flag: when *cancel_flag becomes non-zero
 * (set from any thread, e.g. when a client leaves or a deadline passes), the run
 * stops at the next layer boundary and returns FASTERNET_CANCELLED; the outputs
 * are then undefined. A null cancel_flag behaves as fasternet_model_run.
 */
FASTERNET_API fasternet_status fasternet_model_run_cancellable(const fasternet_model* model, const float* input,
                                                               int64_t input_size, int32_t batch, int32_t height,
                                                               int32_t width, int32_t output_count,
                                                               float* const* outputs, const int64_t* output_sizes,
                                                               const volatile int32_t* cancel_flag);

/*
 * fasternet_model_run_cancellable with the batch's images in separate buffers:
 * images[n] points at image n's in_channels x height x width floats (NCHW with
 * N = 1). A server that batches requests passes each request's own buffer
 * instead of copying them into one; the results are identical.
 */
FASTERNET_API fasternet_status fasternet_model_run_images(const fasternet_model* model, const float* const* images,
                                                          int32_t batch, int32_t height, int32_t width,
                                                          int32_t output_count, float* const* outputs,
                                                          const int64_t* output_sizes,
                                                          const volatile int32_t* cancel_flag);

/* ---- Measurement: the roofline's ceilings, per-layer profiles, operator benchmarks ---- */

/*
 * Measured fp32 FMA throughput in GFLOP/s (2 flops per FMA lane) with `threads`
 * threads (0: all cores) for about `seconds`, using the widest FMA the active
 * kernel set has.
 */
FASTERNET_API fasternet_status fasternet_measure_peak(int32_t threads, double seconds, double* gflops);

/*
 * Measured bf16 throughput in GFLOP/s: VDPBF16PS (AVX512-BF16), 4 flops per fp32
 * lane (two products and their sums). FASTERNET_UNSUPPORTED where the CPU lacks it.
 * AMX tiles: fasternet_measure_amx_bf16_peak.
 */
FASTERNET_API fasternet_status fasternet_measure_bf16_peak(int32_t threads, double seconds, double* gflops);

/*
 * Measured AMX bf16 throughput in GFLOP/s: register-only TDPBF16PS on 2 x 2 C tiles,
 * 2 flops per bf16 product (as fasternet_measure_bf16_peak counts). FASTERNET_UNSUPPORTED,
 * with the reason in fasternet_last_error, where the CPU, the OS or the build cannot run AMX.
 */
FASTERNET_API fasternet_status fasternet_measure_amx_bf16_peak(int32_t threads, double seconds, double* gflops);

/*
 * Measured memory bandwidth in GB/s (triad a[i] = b[i] + s * c[i]: 3 arrays of
 * bytes / 3 each, counting 3 x 4 bytes per element) with `threads` threads.
 */
FASTERNET_API fasternet_status fasternet_measure_bandwidth(int32_t threads, int64_t bytes, double* gigabytes_per_second);

#define FASTERNET_LAYER_NAME_SIZE 64

/* Wall time of one layer in one profiled run. */
typedef struct fasternet_layer_time {
    char name[FASTERNET_LAYER_NAME_SIZE]; /* "input", "patch_embed", "stages.0.blocks.0.pw1", "stages.1", "head", ... */
    double seconds;
} fasternet_layer_time;

/*
 * Runs the network once like fasternet_model_run and reports the time of every
 * layer in execution order: the input layout change ("input"), the embedding,
 * each merging conv ("stages.<2s-1>"), each block's ".pconv", ".pw1", ".pw2"
 * (the fused block's time split by what each part took), backbone norms
 * ("norm<2s>") and the head ("head"). The times add up to the run's wall time.
 * layer_count receives the number of layers (also when capacity is too small,
 * which fails with FASTERNET_INVALID_ARGUMENT).
 */
FASTERNET_API fasternet_status fasternet_model_profile(const fasternet_model* model, const float* input,
                                                       int64_t input_size, int32_t batch, int32_t height,
                                                       int32_t width, fasternet_layer_time* layers,
                                                       int32_t capacity, int32_t* layer_count);

/* ---- The layer table: the network's layers as the plan runs them, one source for every tool ---- */

/* What a layer of the table is. */
typedef enum fasternet_layer_kind {
    FASTERNET_LAYER_INPUT = 0,             /* the input's NCHW -> NHWC layout change; no weights */
    FASTERNET_LAYER_PATCH_EMBEDDING = 1,   /* conv kernel x kernel, stride, + BN */
    FASTERNET_LAYER_MERGING = 2,           /* conv kernel x kernel, stride, dim/2 -> dim, + BN */
    FASTERNET_LAYER_PARTIAL_CONV = 3,      /* PConv: 3x3 on the first channels (its weight's shape), rest untouched */
    FASTERNET_LAYER_POINTWISE_EXPAND = 4,  /* PW1: 1x1 dim -> hidden, + BN + activation */
    FASTERNET_LAYER_POINTWISE_PROJECT = 5, /* PW2: 1x1 hidden -> dim, + the block's residual */
    FASTERNET_LAYER_BACKBONE_NORM = 6,     /* backbone mode: the stage output's BN */
    FASTERNET_LAYER_HEAD = 7               /* average pool -> 1x1 conv + activation -> linear (with bias) */
} fasternet_layer_kind;

/*
 * One layer for one image at a given input size. Channels and map sizes are the
 * tensor the layer reads and the one it writes (a PConv reads and writes all `dim`
 * channels; it convolves the first ones). macs: multiply-accumulates (FLOPs = 2 x macs);
 * parameters: conv and linear weights plus the classifier bias (batch norms fold away);
 * activation_bytes: the activations it must read and write at least (per image),
 * weight_bytes: its weights (parameters x element size, no packing padding), both at the
 * element size each tensor has in the table's precision (fasternet_config_layers_in_precision):
 *   FLOAT32: 4 bytes everywhere.
 *   BFLOAT16: 2 bytes for the weights of the merges, PConvs, PW1s and PW2s, for PConv's
 *     output (written by the PConv, read by PW1) and for the hidden tensor (written by PW1,
 *     read by PW2); 4 bytes for the rest: the input, the residual stream (the untouched
 *     channels PW1 reads, PW2's residual and output, the merges' input and output), the
 *     embedding, the backbone norms and the head, weights included. Its state_dict tensors are
 * tensors[first_tensor .. first_tensor + tensor_count) of fasternet_config_tensors.
 */
typedef struct fasternet_layer_info {
    char name[FASTERNET_LAYER_NAME_SIZE]; /* the profile's row: "input", "patch_embed", "stages.0.blocks.0.pw1", ... */
    fasternet_layer_kind kind;
    int32_t stage;  /* 0-based FasterNet stage (0 for input and embedding) */
    int32_t kernel; /* convolution kernel size (1 for pointwise, 0 where there is no convolution) */
    int32_t stride;
    int32_t in_channels, in_height, in_width;
    int32_t out_channels, out_height, out_width;
    int64_t macs;
    int64_t parameters;
    int64_t activation_bytes;
    int64_t weight_bytes;
    int32_t first_tensor;
    int32_t tensor_count;
} fasternet_layer_info;

#define FASTERNET_TENSOR_NAME_SIZE 96

/* One tensor a state_dict must hold for a configuration (num_batches_tracked excluded). */
typedef struct fasternet_tensor_info {
    char name[FASTERNET_TENSOR_NAME_SIZE]; /* official name, e.g. "stages.0.blocks.0.mlp.0.weight" */
    int32_t layer;                         /* the row of fasternet_config_layers that uses it */
    int32_t ndim;
    int64_t shape[FASTERNET_MAX_DIMS];
} fasternet_tensor_info;

/*
 * The layer table of a configuration at an input of height x width, in execution order
 * (the rows of fasternet_model_profile). height = width = 0: the table without an input
 * size (names, kinds, channels, kernels, parameters and tensors; map sizes, macs and
 * activation_bytes 0). layer_count receives the number of layers, also
 * when capacity is too small or layers is null, which fail with FASTERNET_INVALID_ARGUMENT.
 */
FASTERNET_API fasternet_status fasternet_config_layers(const fasternet_model_config* config, int32_t height,
                                                       int32_t width, fasternet_layer_info* layers,
                                                       int32_t capacity, int32_t* layer_count);

/*
 * fasternet_config_layers with the bytes of a model of that precision (see
 * fasternet_layer_info); fasternet_config_layers is this with FASTERNET_PRECISION_FLOAT32.
 * precision is a fasternet_precision value passed as an integer, so that any value a caller sends is
 * defined behaviour; an unknown one fails with FASTERNET_INVALID_ARGUMENT.
 */
FASTERNET_API fasternet_status fasternet_config_layers_in_precision(const fasternet_model_config* config,
                                                                    int32_t precision, int32_t height,
                                                                    int32_t width, fasternet_layer_info* layers,
                                                                    int32_t capacity, int32_t* layer_count);

/*
 * Every tensor a state_dict must hold for the configuration, layer by layer in execution
 * order (the order of fasternet_config_layers' first_tensor). tensor_count receives the
 * number of tensors, also when capacity is too small or tensors is null (then
 * FASTERNET_INVALID_ARGUMENT).
 */
FASTERNET_API fasternet_status fasternet_config_tensors(const fasternet_model_config* config,
                                                        fasternet_tensor_info* tensors, int32_t capacity,
                                                        int32_t* tensor_count);

/* The operators of the paper's Table 1, each a 3x3 conv variant with stride 1 and padding 1. */
typedef enum fasternet_operator {
    FASTERNET_OPERATOR_CONV = 0,                 /* regular conv, channels -> channels */
    FASTERNET_OPERATOR_GROUP_CONV = 1,           /* `groups` groups */
    FASTERNET_OPERATOR_DEPTHWISE_CONV = 2,       /* one filter per channel */
    FASTERNET_OPERATOR_PARTIAL_CONV = 3,         /* regular conv on channels / n_div, the rest untouched */
    FASTERNET_OPERATOR_PARTIAL_CONV_POINTWISE = 4 /* PConv followed by a 1x1 conv over all channels */
} fasternet_operator;

typedef struct fasternet_operator_benchmark {
    fasternet_operator op;
    int32_t channels;
    int32_t height;
    int32_t width;
    int32_t batch;
    int32_t layers;     /* stacked layers per timed run (the paper: 10) */
    int32_t groups;     /* GROUP_CONV */
    int32_t n_div;      /* PARTIAL_CONV*: channels / n_div are convolved */
    int32_t threads;    /* 0: all cores */
    int32_t warmup;     /* untimed runs first */
    fasternet_kernel_set kernel_set;
} fasternet_operator_benchmark;

/*
 * Times `iterations` runs of `layers` stacked operators on random data and
 * weights; seconds[i] receives run i's wall time.
 */
FASTERNET_API fasternet_status fasternet_benchmark_operator(const fasternet_operator_benchmark* benchmark,
                                                            int32_t iterations, double* seconds);

#ifdef __cplusplus
}
#endif

#endif /* FASTERNET_H */
