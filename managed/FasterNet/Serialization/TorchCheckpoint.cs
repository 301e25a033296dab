using System.Collections;
using System.IO.Compression;
using System.Text;
using Razorvine.Pickle;

namespace FasterNet.Serialization;

/// <summary>
/// Reads PyTorch <c>torch.save</c> checkpoints (the zip format of torch 1.6 and later: <c>&lt;prefix&gt;/data.pkl</c>
/// plus one <c>&lt;prefix&gt;/data/&lt;key&gt;</c> record per storage). The pickle is checked against an allow-list
/// before it is unpickled (<see cref="PickleSafety"/>), so loading never runs code from the file.
/// </summary>
public static class TorchCheckpoint
{
    /// <summary>Wrapper keys of training checkpoints, tried in this order.</summary>
    private static readonly string[] WrapperKeys = ["state_dict", "model"];

    /// <summary>Key prefixes stripped when every key has them (DataParallel's and wrapper modules').</summary>
    private static readonly string[] StrippedPrefixes = ["module.", "model."];

    // Deflate cannot expand data by more than about 1032:1; a record claiming more is corrupt.
    private const long MaximumCompressionRatio = 1100;

    /// <summary>Loads the state_dict of a <c>.pth</c>/<c>.pt</c> file.</summary>
    /// <exception cref="CheckpointFormatException">The file is not a readable, safe state_dict checkpoint.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static StateDict Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);
        return Load(stream, path);
    }

    /// <summary>Loads a checkpoint from a stream; <paramref name="sourceName"/> names it in error messages.</summary>
    /// <exception cref="CheckpointFormatException">The data is not a readable, safe state_dict checkpoint.</exception>
    public static StateDict Load(Stream stream, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        string source = sourceName ?? "<stream>";
        stream = SeekableStream.Of(stream);

        CheckSignature(stream, source);
        ZipArchive archive;
        try
        {
            archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (Exception exception) when (exception is InvalidDataException or IOException or ArgumentException)
        {
            throw new CheckpointFormatException(source,
                $"not a readable zip archive (truncated or corrupt): {exception.Message}", exception);
        }

        using (archive)
        {
            try
            {
                return new ArchiveReader(archive, stream.Length, source).Read();
            }
            catch (Exception exception) when (exception is InvalidDataException or IOException)
            {
                throw new CheckpointFormatException(source,
                    $"the zip archive is truncated or corrupt: {exception.Message}", exception);
            }
        }
    }

    private static void CheckSignature(Stream stream, string source)
    {
        long start = stream.Position;
        Span<byte> head = stackalloc byte[4];
        int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        stream.Position = start;
        if (read < 4)
            throw new CheckpointFormatException(source, $"the file is {read} bytes long: too short to be a checkpoint");
        if (head[0] == (byte)'P' && head[1] == (byte)'K')
            return;
        if (head[0] == 0x80)
            throw new CheckpointFormatException(source,
                "this is the legacy (pre-zip, torch < 1.6) torch.save format, which is not supported; " +
                "re-save it with a current PyTorch: torch.save(torch.load(path), new_path)");
        throw new CheckpointFormatException(source,
            $"not a PyTorch checkpoint: a torch.save file is a zip archive (starts with 'PK'), this file starts with " +
            $"{Convert.ToHexString(head)}");
    }

    /// <summary>One load: finds the records, checks and unpickles data.pkl, materialises the tensors.</summary>
    private sealed class ArchiveReader(ZipArchive archive, long archiveLength, string source)
    {
        private string _prefix = "";
        private readonly Dictionary<string, byte[]> _storageCache = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _storageUsers = new(StringComparer.Ordinal);

        public StateDict Read()
        {
            var pickleEntry = FindPickle();
            CheckByteOrder();

            byte[] pickle = ReadRecord(pickleEntry);
            PickleSafety.Check(pickle, source, pickleEntry.FullName);
            object? root = Unpickle(pickle, pickleEntry.FullName);

            if (root is not Hashtable top)
                throw new CheckpointFormatException(source,
                    $"the checkpoint holds {TorchPickle.Describe(root)}, not a dict of tensors (a state_dict)");
            var entries = SelectStateDict(top);

            // Views of one storage must agree on what it is: the cache below holds one buffer per key.
            var storages = new Dictionary<string, StorageReference>(StringComparer.Ordinal);
            foreach (var (key, recipe) in entries.OrderBy(entry => entry.Key, StringComparer.Ordinal))
            {
                if (storages.TryAdd(recipe.Storage.Key, recipe.Storage))
                    _storageUsers[recipe.Storage.Key] = 1;
                else if (storages[recipe.Storage.Key] == recipe.Storage)
                    _storageUsers[recipe.Storage.Key]++;
                else
                    throw new CheckpointFormatException(source,
                        $"tensor '{key}' describes storage '{recipe.Storage.Key}' as {recipe.Storage.ElementCount} " +
                        $"{recipe.Storage.ElementType.TorchName()} elements, another tensor as {storages[recipe.Storage.Key].ElementCount} " +
                        $"{storages[recipe.Storage.Key].ElementType.TorchName()} elements");
            }

            var tensors = new List<KeyValuePair<string, Tensor>>();
            var integers = new List<KeyValuePair<string, IntegerTensor>>();
            foreach (var (key, recipe) in entries.OrderBy(entry => entry.Key, StringComparer.Ordinal))
            {
                if (recipe.Storage.ElementType.IsFloatingPoint())
                    tensors.Add(new(key, MaterialiseFloat(key, recipe)));
                else
                    integers.Add(new(key, MaterialiseInteger(key, recipe)));
            }
            return new StateDict(tensors, integers);
        }

        private ZipArchiveEntry FindPickle()
        {
            var candidates = archive.Entries
                .Where(entry => entry.FullName == "data.pkl" ||
                                (entry.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) &&
                                 entry.FullName.IndexOf('/') == entry.FullName.Length - "/data.pkl".Length))
                .ToList();
            if (candidates.Count == 0)
                throw new CheckpointFormatException(source,
                    "the zip archive has no data.pkl record: it is not a torch.save checkpoint" +
                    (archive.Entries.Any(entry => entry.FullName.EndsWith("constants.pkl", StringComparison.Ordinal))
                        ? " (it looks like a TorchScript archive; save model.state_dict() instead)"
                        : ""));
            if (candidates.Count > 1)
                throw new CheckpointFormatException(source,
                    $"the zip archive has {candidates.Count} data.pkl records ({string.Join(", ", candidates.Select(c => c.FullName))})");
            _prefix = candidates[0].FullName[..^"data.pkl".Length];
            return candidates[0];
        }

        private void CheckByteOrder()
        {
            var entry = archive.GetEntry(_prefix + "byteorder");
            if (entry is null) return; // torch < 2.1 writes no byteorder record and is little-endian
            string order = Encoding.ASCII.GetString(ReadRecord(entry)).Trim();
            if (order == "little") return;
            throw new CheckpointFormatException(source, order == "big"
                ? "the checkpoint was written on a big-endian machine; only little-endian checkpoints are supported"
                : $"the byteorder record says '{order}', expected 'little'");
        }

        private object? Unpickle(byte[] pickle, string recordName)
        {
            TorchPickle.EnsureRegistered();
            try
            {
                using var unpickler = new TorchPickle.TorchUnpickler();
                return unpickler.loads(pickle);
            }
            catch (TorchPickleException exception)
            {
                throw new CheckpointFormatException(source, $"{recordName}: {exception.Message}", exception);
            }
            catch (Exception exception) when (exception is not CheckpointFormatException and not OutOfMemoryException)
            {
                throw new CheckpointFormatException(source,
                    $"corrupt pickle in {recordName}: {exception.GetType().Name}: {exception.Message}", exception);
            }
        }

        private Dictionary<string, TensorRecipe> SelectStateDict(Hashtable top)
        {
            var dict = top;
            if (!HoldsTensors(top))
            {
                foreach (string wrapperKey in WrapperKeys)
                {
                    if (top[wrapperKey] is Hashtable inner && HoldsTensors(inner))
                    {
                        dict = inner;
                        break;
                    }
                }
            }

            var entries = new Dictionary<string, TensorRecipe>(StringComparer.Ordinal);
            foreach (DictionaryEntry entry in dict)
            {
                if (entry.Value is not TensorRecipe recipe) continue; // e.g. 'epoch' beside the tensors
                if (entry.Key is not string key)
                    throw new CheckpointFormatException(source, $"a tensor is stored under {TorchPickle.Describe(entry.Key)}, not a string key");
                entries.Add(key, recipe);
            }
            if (entries.Count == 0)
            {
                var keys = top.Keys.Cast<object>().Select(key => key.ToString()).Order(StringComparer.Ordinal).Take(10);
                throw new CheckpointFormatException(source,
                    $"the checkpoint holds a dict without tensors (keys: {string.Join(", ", keys)}); " +
                    $"expected a state_dict, or one under '{WrapperKeys[0]}' or '{WrapperKeys[1]}'");
            }

            foreach (string prefix in StrippedPrefixes)
            {
                if (entries.Keys.All(key => key.StartsWith(prefix, StringComparison.Ordinal) && key.Length > prefix.Length))
                    entries = entries.ToDictionary(entry => entry.Key[prefix.Length..], entry => entry.Value, StringComparer.Ordinal);
            }
            return entries;
        }

        private static bool HoldsTensors(Hashtable dict) => dict.Values.OfType<TensorRecipe>().Any();

        private Tensor MaterialiseFloat(string name, TensorRecipe recipe)
        {
            var (shape, count) = CheckView(name, recipe);
            var data = new float[count];
            if (count > 0)
            {
                byte[] storage = LoadStorage(name, recipe.Storage);
                var type = recipe.Storage.ElementType;
                if (IsContiguous(shape, recipe.Stride))
                {
                    int start = checked((int)(recipe.StorageOffset * type.Size()));
                    ElementTypes.ToFloat32(storage.AsSpan(start), type, data);
                }
                else
                {
                    int i = 0;
                    foreach (long index in StridedIndices(shape, recipe))
                        data[i++] = ElementTypes.ReadFloat32(storage, type, index);
                }
            }
            Release(recipe.Storage);
            return new Tensor(shape, data);
        }

        private IntegerTensor MaterialiseInteger(string name, TensorRecipe recipe)
        {
            var (shape, count) = CheckView(name, recipe);
            var data = new long[count];
            if (count > 0)
            {
                byte[] storage = LoadStorage(name, recipe.Storage);
                int i = 0;
                foreach (long index in StridedIndices(shape, recipe))
                    data[i++] = ElementTypes.ReadInt64(storage, recipe.Storage.ElementType, index);
            }
            Release(recipe.Storage);
            return new IntegerTensor(shape, data, recipe.Storage.ElementType.TorchName());
        }

        /// <summary>Checks sizes, strides and offset against the storage before anything is allocated.</summary>
        private (int[] Shape, int Count) CheckView(string name, TensorRecipe recipe)
        {
            var shape = new int[recipe.Size.Length];
            long count = 1;
            long lastIndex = recipe.StorageOffset;
            string view = $"size ({string.Join(", ", recipe.Size)}), stride ({string.Join(", ", recipe.Stride)}), offset {recipe.StorageOffset}";
            if (recipe.StorageOffset < 0)
                throw Problem(name, $"has a negative storage offset ({view})");
            try
            {
                for (int axis = 0; axis < shape.Length; axis++)
                {
                    long size = recipe.Size[axis];
                    long stride = recipe.Stride[axis];
                    if (size < 0 || stride < 0)
                        throw Problem(name, $"has a negative size or stride ({view})");
                    if (size > int.MaxValue)
                        throw Problem(name, $"has a dimension of {size}, too large ({view})");
                    shape[axis] = (int)size;
                    count = checked(count * size);
                    if (size > 0)
                        lastIndex = checked(lastIndex + (size - 1) * stride);
                }
            }
            catch (OverflowException)
            {
                throw Problem(name, $"has a size that overflows ({view})");
            }
            if (count > Array.MaxLength)
                throw Problem(name, $"has {count} elements, more than can be loaded ({view})");
            if (count > 0 && lastIndex >= recipe.Storage.ElementCount)
                throw Problem(name,
                    $"reads element {lastIndex} of storage '{recipe.Storage.Key}', which has only {recipe.Storage.ElementCount} elements ({view}): storage too small for the tensor");
            return (shape, (int)count);
        }

        private byte[] LoadStorage(string name, StorageReference storage)
        {
            if (_storageCache.TryGetValue(storage.Key, out byte[]? cached))
                return cached;
            string recordName = _prefix + "data/" + storage.Key;
            var entry = archive.GetEntry(recordName)
                ?? throw Problem(name, $"needs the storage record '{recordName}', which is missing from the archive");
            long elementSize = storage.ElementType.Size();
            if (storage.ElementCount > Array.MaxLength / elementSize)
                throw Problem(name, $"has a storage of {storage.ElementCount} {storage.ElementType.TorchName()} elements, more than can be loaded");
            long bytes = storage.ElementCount * elementSize;
            if (entry.Length < bytes)
                throw Problem(name,
                    $"storage record '{recordName}' holds {entry.Length} bytes but its {storage.ElementCount} {storage.ElementType.TorchName()} elements need {bytes}: storage too small");
            byte[] data = ReadRecord(entry);
            _storageCache[storage.Key] = data;
            return data;
        }

        private void Release(StorageReference storage)
        {
            if (_storageUsers.TryGetValue(storage.Key, out int users) && users > 1)
                _storageUsers[storage.Key] = users - 1;
            else
                _storageCache.Remove(storage.Key);
        }

        /// <summary>Reads a whole record and checks its CRC, refusing lengths the archive cannot hold.</summary>
        private byte[] ReadRecord(ZipArchiveEntry entry)
        {
            bool stored = entry.CompressedLength == entry.Length;
            long limit = stored ? archiveLength : entry.CompressedLength * MaximumCompressionRatio;
            if (entry.Length > limit || entry.Length > Array.MaxLength)
                throw new CheckpointFormatException(source,
                    $"record '{entry.FullName}' claims {entry.Length} bytes, more than the {archiveLength}-byte archive can hold (corrupt zip directory)");
            var data = new byte[entry.Length];
            using (var stream = entry.Open())
            {
                int read = stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
                if (read < data.Length)
                    throw new CheckpointFormatException(source,
                        $"record '{entry.FullName}' ends after {read} of its {entry.Length} bytes (truncated file)");
            }
            uint crc = Crc32.Compute(data);
            if (crc != entry.Crc32)
                throw new CheckpointFormatException(source,
                    $"record '{entry.FullName}' is corrupt: its CRC-32 is {crc:x8} but the zip directory says {entry.Crc32:x8}");
            return data;
        }

        private CheckpointFormatException Problem(string tensorName, string problem) =>
            new(source, $"tensor '{tensorName}' {problem}");
    }

    private static bool IsContiguous(int[] shape, long[] stride)
    {
        long expected = 1;
        for (int axis = shape.Length - 1; axis >= 0; axis--)
        {
            if (shape[axis] != 1 && stride[axis] != expected) return false;
            expected *= shape[axis];
        }
        return true;
    }

    /// <summary>Storage indices of a strided view in row-major order (the view is already bounds-checked).</summary>
    private static IEnumerable<long> StridedIndices(int[] shape, TensorRecipe recipe)
    {
        int rank = shape.Length;
        var position = new int[rank];
        long index = recipe.StorageOffset;
        while (true)
        {
            yield return index;
            int axis = rank - 1;
            while (axis >= 0)
            {
                index += recipe.Stride[axis];
                if (++position[axis] < shape[axis]) break;
                index -= recipe.Stride[axis] * shape[axis];
                position[axis] = 0;
                axis--;
            }
            if (axis < 0) yield break;
        }
    }
}
