using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace FasterNet.Serialization;

/// <summary>The element types the readers understand; all floating types are converted to float32.</summary>
internal enum ElementType
{
    Float32,
    Float16,
    BFloat16,
    Float64,
    Int64,
    Int32,
    Int16,
    Int8,
    UInt8,
    Bool,
}

/// <summary>Sizes, names and the conversions of raw little-endian elements to float32 or int64.</summary>
internal static class ElementTypes
{
    public static int Size(this ElementType type) => type switch
    {
        ElementType.Float32 or ElementType.Int32 => 4,
        ElementType.Float16 or ElementType.BFloat16 or ElementType.Int16 => 2,
        ElementType.Float64 or ElementType.Int64 => 8,
        _ => 1,
    };

    public static bool IsFloatingPoint(this ElementType type) =>
        type is ElementType.Float32 or ElementType.Float16 or ElementType.BFloat16 or ElementType.Float64;

    /// <summary>PyTorch's name for the type ("float32", "int64", ...).</summary>
    public static string TorchName(this ElementType type) => type switch
    {
        ElementType.Float32 => "float32",
        ElementType.Float16 => "float16",
        ElementType.BFloat16 => "bfloat16",
        ElementType.Float64 => "float64",
        ElementType.Int64 => "int64",
        ElementType.Int32 => "int32",
        ElementType.Int16 => "int16",
        ElementType.Int8 => "int8",
        ElementType.UInt8 => "uint8",
        _ => "bool",
    };

    /// <summary>Converts <c>destination.Length</c> contiguous little-endian elements to float32.</summary>
    public static void ToFloat32(ReadOnlySpan<byte> source, ElementType type, Span<float> destination)
    {
        switch (type)
        {
            case ElementType.Float32 when BitConverter.IsLittleEndian:
                MemoryMarshal.Cast<byte, float>(source[..(destination.Length * 4)]).CopyTo(destination);
                return;
            case ElementType.Float32:
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = BinaryPrimitives.ReadSingleLittleEndian(source[(i * 4)..]);
                return;
            case ElementType.Float16:
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(source[(i * 2)..]);
                return;
            case ElementType.BFloat16:
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(source[(i * 2)..]) << 16);
                return;
            case ElementType.Float64:
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(source[(i * 8)..]);
                return;
            default:
                throw new InvalidOperationException($"{type.TorchName()} is not a floating-point type.");
        }
    }

    /// <summary>Reads element <paramref name="index"/> of a little-endian buffer as float32.</summary>
    public static float ReadFloat32(ReadOnlySpan<byte> source, ElementType type, long index)
    {
        int offset = checked((int)(index * type.Size()));
        return type switch
        {
            ElementType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(source[offset..]),
            ElementType.Float16 => (float)BinaryPrimitives.ReadHalfLittleEndian(source[offset..]),
            ElementType.BFloat16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(source[offset..]) << 16),
            ElementType.Float64 => (float)BinaryPrimitives.ReadDoubleLittleEndian(source[offset..]),
            _ => throw new InvalidOperationException($"{type.TorchName()} is not a floating-point type."),
        };
    }

    /// <summary>Reads element <paramref name="index"/> of a little-endian buffer as int64.</summary>
    public static long ReadInt64(ReadOnlySpan<byte> source, ElementType type, long index)
    {
        int offset = checked((int)(index * type.Size()));
        return type switch
        {
            ElementType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(source[offset..]),
            ElementType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(source[offset..]),
            ElementType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(source[offset..]),
            ElementType.Int8 => (sbyte)source[offset],
            ElementType.UInt8 => source[offset],
            ElementType.Bool => source[offset] != 0 ? 1 : 0,
            _ => throw new InvalidOperationException($"{type.TorchName()} is not an integer type."),
        };
    }

    /// <summary>Reverses the bytes of every element in place (big-endian data to little-endian).</summary>
    public static void SwapBytes(Span<byte> data, int elementSize)
    {
        if (elementSize == 1) return;
        for (int i = 0; i + elementSize <= data.Length; i += elementSize)
            data.Slice(i, elementSize).Reverse();
    }
}
