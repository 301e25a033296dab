namespace FasterNet.Bindings.Generator;

// What the generator learned from the header, already mapped to C# types and names.
// Every list keeps the header's declaration order so the output is deterministic.

internal sealed record Header(
    IReadOnlyList<Constant> Constants,
    IReadOnlyList<EnumDeclaration> Enums,
    IReadOnlyList<StructDeclaration> Structs,
    IReadOnlyList<FunctionDeclaration> Functions);

internal sealed record Constant(string CName, string Name, long Value)
{
    public string CSharpType => Value is >= int.MinValue and <= int.MaxValue ? "int" : "long";
}

internal sealed record EnumMember(string CName, string Name, long Value);

internal sealed record EnumDeclaration(
    string CName, string Name, PrimitiveType Underlying, bool IsFlags, IReadOnlyList<EnumMember> Members,
    IReadOnlyList<string> Comment);

internal sealed record Field(string CName, string Name, NativeType Type, long Offset);

internal sealed record StructDeclaration(
    string CName, string Name, long Size, long Alignment, IReadOnlyList<Field> Fields, IReadOnlyList<string> Comment);

internal sealed record Parameter(string CName, string Name, NativeType Type);

internal sealed record FunctionDeclaration(
    string CName, string Name, NativeType Return, IReadOnlyList<Parameter> Parameters, IReadOnlyList<string> Comment);

/// <summary>A C type as the generated C# spells it, with the size and alignment C# gives it on a 64-bit target.</summary>
internal abstract record NativeType
{
    public abstract string CSharp { get; }
    public abstract long Size { get; }
    public abstract long Alignment { get; }
}

internal sealed record VoidType : NativeType
{
    public static readonly VoidType Instance = new();
    public override string CSharp => "void";
    public override long Size => throw new InvalidOperationException("void has no size");
    public override long Alignment => throw new InvalidOperationException("void has no alignment");
}

internal sealed record PrimitiveType(string CSharp, long Size) : NativeType
{
    public override string CSharp { get; } = CSharp;
    public override long Size { get; } = Size;
    public override long Alignment => Size;
}

internal sealed record PointerType(NativeType Pointee) : NativeType
{
    public override string CSharp => Pointee.CSharp + "*";
    public override long Size => 8;
    public override long Alignment => 8;
}

/// <summary>
/// A pointer to an opaque (declared, never defined) struct: passed as the generated SafeHandle class
/// <see cref="Name"/>, so every call holds a reference and the object is released once. Only the
/// destroy function (which the handle class itself calls) takes the raw pointer.
/// </summary>
internal sealed record HandleType(string CName, string Name) : NativeType
{
    public override string CSharp => Name;
    public override long Size => 8;
    public override long Alignment => 8;
}

internal sealed record EnumType(EnumDeclaration Declaration) : NativeType
{
    public override string CSharp => Declaration.Name;
    public override long Size => Declaration.Underlying.Size;
    public override long Alignment => Declaration.Underlying.Alignment;
}

internal sealed record StructType(StructDeclaration Declaration) : NativeType
{
    public override string CSharp => Declaration.Name;
    public override long Size => Layout.ManagedSize(Declaration);
    public override long Alignment => Layout.ManagedAlignment(Declaration);
}

/// <summary>A fixed-size array field, emitted as a C# fixed buffer.</summary>
internal sealed record FixedBufferType(PrimitiveType Element, long Length) : NativeType
{
    public override string CSharp => Element.CSharp;
    public override long Size => Element.Size * Length;
    public override long Alignment => Element.Alignment;
}
