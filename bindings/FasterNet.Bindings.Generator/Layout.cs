namespace FasterNet.Bindings.Generator;

/// <summary>
/// The layout the CLR gives a generated [StructLayout(LayoutKind.Sequential)] struct of blittable
/// fields (each field at the next multiple of its alignment, the size rounded up to the largest
/// alignment, default packing 8), to compare with the layout clang computed for the C struct.
/// </summary>
internal static class Layout
{
    private const long DefaultPacking = 8;

    public static IReadOnlyList<long> ManagedOffsets(StructDeclaration declaration)
    {
        var offsets = new List<long>(declaration.Fields.Count);
        long offset = 0;
        foreach (Field field in declaration.Fields)
        {
            offset = AlignUp(offset, FieldAlignment(field.Type));
            offsets.Add(offset);
            offset += field.Type.Size;
        }
        return offsets;
    }

    public static long ManagedAlignment(StructDeclaration declaration) =>
        declaration.Fields.Count == 0 ? 1 : declaration.Fields.Max(field => FieldAlignment(field.Type));

    public static long ManagedSize(StructDeclaration declaration)
    {
        if (declaration.Fields.Count == 0)
        {
            return 1;
        }
        Field last = declaration.Fields[^1];
        long end = ManagedOffsets(declaration)[^1] + last.Type.Size;
        return AlignUp(end, ManagedAlignment(declaration));
    }

    /// <summary>Every difference between the C layout (from clang) and the C# layout; empty when they agree.</summary>
    public static List<string> Mismatches(StructDeclaration declaration)
    {
        var problems = new List<string>();
        IReadOnlyList<long> offsets = ManagedOffsets(declaration);
        for (int i = 0; i < declaration.Fields.Count; i++)
        {
            Field field = declaration.Fields[i];
            if (offsets[i] != field.Offset)
            {
                problems.Add($"{declaration.CName}.{field.CName}: C offset {field.Offset}, C# offset {offsets[i]}");
            }
        }
        long size = ManagedSize(declaration);
        if (size != declaration.Size)
        {
            problems.Add($"sizeof({declaration.CName}): C {declaration.Size}, C# {size}");
        }
        long alignment = ManagedAlignment(declaration);
        if (alignment != declaration.Alignment)
        {
            problems.Add($"alignof({declaration.CName}): C {declaration.Alignment}, C# {alignment}");
        }
        return problems;
    }

    private static long FieldAlignment(NativeType type) => Math.Min(type.Alignment, DefaultPacking);

    private static long AlignUp(long value, long alignment) => (value + alignment - 1) / alignment * alignment;
}
