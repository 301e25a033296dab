using System.Collections;
using System.Numerics;
using Razorvine.Pickle;

namespace FasterNet.Serialization;

/// <summary>A storage named by a pickle's persistent id: the archive record <c>data/&lt;Key&gt;</c>.</summary>
internal sealed record StorageReference(string Key, ElementType ElementType, long ElementCount);

/// <summary>What <c>torch._utils._rebuild_tensor_v2</c> was called with: a strided view of a storage.</summary>
internal sealed record TensorRecipe(StorageReference Storage, long StorageOffset, long[] Size, long[] Stride);

/// <summary>Raised from inside the unpickler when a rebuild call has arguments no real checkpoint has.</summary>
internal sealed class TorchPickleException(string problem) : Exception(problem);

/// <summary>
/// The object constructors for the allowed globals (see <see cref="PickleSafety.AllowedGlobals"/>), registered
/// once per process with Razorvine (its registry is static). None of them runs anything: tensors come back as
/// <see cref="TensorRecipe"/>s that the loader materialises from the archive afterwards.
/// </summary>
internal static class TorchPickle
{
    private static readonly object RegistrationLock = new();
    private static bool _registered;

    public static void EnsureRegistered()
    {
        lock (RegistrationLock)
        {
            if (_registered) return;
            Unpickler.registerConstructor("collections", "OrderedDict", new OrderedDictConstructor());
            Unpickler.registerConstructor("torch._utils", "_rebuild_tensor_v2", new RebuildTensorConstructor());
            Unpickler.registerConstructor("torch._utils", "_rebuild_parameter", new RebuildParameterConstructor());
            Unpickler.registerConstructor("torch._utils", "_rebuild_parameter_with_state", new RebuildParameterConstructor());
            foreach (var (name, type) in StorageTypes)
                Unpickler.registerConstructor("torch", name, new StorageTypeConstructor(type));
            _registered = true;
        }
    }

    public static readonly (string Name, ElementType Type)[] StorageTypes =
    [
        ("FloatStorage", ElementType.Float32),
        ("HalfStorage", ElementType.Float16),
        ("BFloat16Storage", ElementType.BFloat16),
        ("DoubleStorage", ElementType.Float64),
        ("LongStorage", ElementType.Int64),
        ("IntStorage", ElementType.Int32),
        ("ShortStorage", ElementType.Int16),
        ("CharStorage", ElementType.Int8),
        ("ByteStorage", ElementType.UInt8),
        ("BoolStorage", ElementType.Bool),
    ];

    /// <summary>Reads a pickled integer (int, long or a big LONG1 value) as int64.</summary>
    public static long ToInt64(object? value, string what) => value switch
    {
        int number => number,
        long number => number,
        BigInteger big when big >= long.MinValue && big <= long.MaxValue => (long)big,
        BigInteger big => throw new TorchPickleException($"{what} {big} is out of range"),
        _ => throw new TorchPickleException($"{what} is {Describe(value)}, not an integer"),
    };

    public static string Describe(object? value) => value switch
    {
        null => "None",
        string text => $"the string '{text}'",
        object[] tuple => $"a tuple of {tuple.Length}",
        Hashtable => "a dict",
        ArrayList => "a list",
        TensorRecipe => "a tensor",
        _ => $"a {value.GetType().Name}",
    };

    /// <summary>Unpickles a checked pickle; storages resolve to <see cref="StorageReference"/>s.</summary>
    public sealed class TorchUnpickler : Unpickler
    {
        protected override object persistentLoad(object pid)
        {
            if (pid is not object[] { Length: 5 } tuple || tuple[0] is not "storage")
                throw new TorchPickleException($"persistent id is {Describe(pid)}, not ('storage', type, key, location, numel)");
            if (tuple[1] is not StorageTypeConstructor storageType)
                throw new TorchPickleException($"persistent id names {Describe(tuple[1])} as its storage type");
            if (tuple[2] is not string key || key.Length == 0 || key.Contains('/') || key.Contains('\\') || key.Contains(".."))
                throw new TorchPickleException($"persistent id has the storage key {Describe(tuple[2])}");
            long count = ToInt64(tuple[4], $"storage '{key}' element count");
            if (count < 0)
                throw new TorchPickleException($"storage '{key}' has a negative element count {count}");
            return new StorageReference(key, storageType.ElementType, count);
        }
    }

    private sealed class StorageTypeConstructor(ElementType elementType) : IObjectConstructor
    {
        public ElementType ElementType { get; } = elementType;

        public object construct(object[] args) =>
            throw new TorchPickleException($"a {ElementType.TorchName()} storage type is called like a function");
    }

    private sealed class OrderedDictConstructor : IObjectConstructor
    {
        public object construct(object[] args) => args.Length == 0
            ? new PickledDictionary()
            : throw new TorchPickleException($"OrderedDict is called with {args.Length} arguments");
    }

    /// <summary>A dict as Razorvine builds them; BUILD may attach state (a state_dict's <c>_metadata</c>), which is dropped.</summary>
    public sealed class PickledDictionary : Hashtable
    {
        // Called by name through reflection by the unpickler's BUILD opcode.
        public void __setstate__(Hashtable state) { }
    }

    private sealed class RebuildTensorConstructor : IObjectConstructor
    {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        public object construct(object[] args)
        {
            if (args.Length is < 4 or > 7)
                throw new TorchPickleException($"_rebuild_tensor_v2 is called with {args.Length} arguments");
            if (args[0] is not StorageReference storage)
                throw new TorchPickleException($"_rebuild_tensor_v2 is given {Describe(args[0])} as its storage");
            long offset = ToInt64(args[1], "tensor storage offset");
            if (args[2] is not object[] size || args[3] is not object[] stride)
                throw new TorchPickleException("tensor size or stride is not a tuple");
            if (size.Length != stride.Length)
                throw new TorchPickleException($"tensor has {size.Length} sizes but {stride.Length} strides");
            return new TensorRecipe(
                storage,
                offset,
                size.Select(value => ToInt64(value, "tensor size")).ToArray(),
                stride.Select(value => ToInt64(value, "tensor stride")).ToArray());
        }
    }

    private sealed class RebuildParameterConstructor : IObjectConstructor
    {
        // (data, requires_grad, backward_hooks[, state]): a Parameter is its tensor.
        public object construct(object[] args) => args is [TensorRecipe recipe, ..] && args.Length <= 4
            ? recipe
            : throw new TorchPickleException("_rebuild_parameter is not called with a tensor");
    }
}
