using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using static FasterNet.Bindings.Generator.LibClang;

namespace FasterNet.Bindings.Generator;

/// <summary>
/// Parses the header with libclang and maps what it declares to C#. Anything it cannot map
/// exactly (an unknown type, a union, a bit-field, a function pointer, a parse error) is an
/// error: the generator refuses to guess.
/// </summary>
internal sealed unsafe class HeaderParser
{
    /// <summary>The target the layout is computed for; the generated C# assumes 64-bit pointers.</summary>
    public const string Target = "x86_64-pc-linux-gnu";

    private enum Use { Parameter, Return, Field, Pointee }

    // Typedefs whose width follows the pointer size, mapped by name before clang resolves them to long.
    private static readonly Dictionary<string, NativeType> PointerSizedTypedefs = new()
    {
        ["size_t"] = new PrimitiveType("nuint", 8),
        ["uintptr_t"] = new PrimitiveType("nuint", 8),
        ["intptr_t"] = new PrimitiveType("nint", 8),
        ["ptrdiff_t"] = new PrimitiveType("nint", 8),
    };

    private readonly nint _unit;
    private readonly string _fileName;
    private readonly List<string> _errors = [];
    private readonly Dictionary<string, string> _typedefNameOfAnonymousTag = [];
    private readonly Dictionary<string, EnumDeclaration> _enums = [];
    private readonly Dictionary<string, StructDeclaration> _structs = [];
    private readonly Dictionary<string, Constant> _constants = [];

    private HeaderParser(nint unit, string fileName)
    {
        _unit = unit;
        _fileName = fileName;
    }

    public List<string> SkippedMacros { get; } = [];

    public static Header Parse(string headerPath, string? resourceDirectory, Action<string> info, Action<string> warn)
    {
        var arguments = new List<string> { "-x", "c", "-std=c11", "--target=" + Target, "-fparse-all-comments" };
        if (resourceDirectory != null)
        {
            arguments.Add("-resource-dir");
            arguments.Add(resourceDirectory);
        }

        nint index = CreateIndex(0, 0);
        nint unit = 0;
        try
        {
            int errorCode = ParseWithArguments(index, headerPath, arguments, &unit);
            if (errorCode != 0 || unit == 0)
            {
                throw new GeneratorException($"libclang could not parse {headerPath} (CXErrorCode {errorCode})");
            }
            CheckDiagnostics(unit, warn);
            var parser = new HeaderParser(unit, Path.GetFileName(headerPath));
            Header header = parser.Read();
            if (parser.SkippedMacros.Count > 0)
            {
                info("macros without an integer value, not emitted: " + string.Join(", ", parser.SkippedMacros));
            }
            return header;
        }
        finally
        {
            if (unit != 0)
            {
                DisposeTranslationUnit(unit);
            }
            DisposeIndex(index);
        }
    }

    private static int ParseWithArguments(nint index, string headerPath, List<string> arguments, nint* unit)
    {
        var allocations = new List<nint>();
        try
        {
            nint Utf8(string text)
            {
                nint pointer = Marshal.StringToCoTaskMemUTF8(text);
                allocations.Add(pointer);
                return pointer;
            }
            byte** argv = stackalloc byte*[arguments.Count];
            for (int i = 0; i < arguments.Count; i++)
            {
                argv[i] = (byte*)Utf8(arguments[i]);
            }
            return ParseTranslationUnit2(index, (byte*)Utf8(headerPath), argv, arguments.Count, null, 0,
                                         DetailedPreprocessingRecord | SkipFunctionBodies, unit);
        }
        finally
        {
            allocations.ForEach(Marshal.FreeCoTaskMem);
        }
    }

    /// <summary>Errors stop the generator: clang recovers from e.g. an unknown type by assuming int.</summary>
    private static void CheckDiagnostics(nint unit, Action<string> warn)
    {
        var errors = new List<string>();
        uint count = GetNumDiagnostics(unit);
        for (uint i = 0; i < count; i++)
        {
            nint diagnostic = GetDiagnostic(unit, i);
            try
            {
                CXDiagnosticSeverity severity = GetDiagnosticSeverity(diagnostic);
                string text = Take(FormatDiagnostic(diagnostic, DefaultDiagnosticDisplayOptions()));
                if (severity >= CXDiagnosticSeverity.Error)
                {
                    errors.Add(text);
                }
                else if (severity == CXDiagnosticSeverity.Warning)
                {
                    warn(text);
                }
            }
            finally
            {
                DisposeDiagnostic(diagnostic);
            }
        }
        if (errors.Count > 0)
        {
            throw new GeneratorException("the header does not parse cleanly:\n  " + string.Join("\n  ", errors) +
                                         "\n(if a standard header is missing, pass --resource-dir <clang resource dir>)");
        }
    }

    private Header Read()
    {
        List<CXCursor> declarations = Children(GetTranslationUnitCursor(_unit))
            .Where(cursor => LocationIsFromMainFile(GetCursorLocation(cursor)) != 0)
            .ToList();

        // Anonymous enums and structs take the name of the typedef that declares them.
        foreach (CXCursor cursor in declarations.Where(c => GetCursorKind(c) == CXCursorKind.TypedefDecl))
        {
            CXType underlying = GetTypedefDeclUnderlyingType(cursor);
            while (underlying.Kind == CXTypeKind.Elaborated)
            {
                underlying = TypeGetNamedType(underlying);
            }
            if (underlying.Kind is CXTypeKind.Enum or CXTypeKind.Record)
            {
                CXCursor tag = GetTypeDeclaration(underlying);
                if (CursorIsAnonymous(tag) != 0)
                {
                    _typedefNameOfAnonymousTag.TryAdd(Usr(tag), Spelling(cursor));
                }
            }
        }

        var constants = new List<Constant>();
        var enums = new List<EnumDeclaration>();
        var structs = new List<StructDeclaration>();
        var functions = new List<FunctionDeclaration>();
        foreach (CXCursor cursor in declarations)
        {
            try
            {
                switch (GetCursorKind(cursor))
                {
                    case CXCursorKind.MacroDefinition:
                        if (ReadConstant(cursor) is { } constant)
                        {
                            constants.Add(constant);
                        }
                        break;
                    case CXCursorKind.EnumDecl when IsCursorDefinition(cursor) != 0:
                        enums.Add(ReadEnum(cursor));
                        break;
                    case CXCursorKind.StructDecl when IsCursorDefinition(cursor) != 0:
                        structs.Add(ReadStruct(cursor));
                        break;
                    case CXCursorKind.FunctionDecl:
                        if (ReadFunction(cursor) is { } function)
                        {
                            functions.Add(function);
                        }
                        break;
                    case CXCursorKind.UnionDecl:
                        throw Unsupported(cursor, "unions are not supported");
                    case CXCursorKind.VarDecl:
                        throw Unsupported(cursor, "global variables are not supported");
                }
            }
            catch (GeneratorException error)
            {
                _errors.Add(error.Message);
            }
        }

        CheckUnique("type", enums.Select(e => (e.CName, e.Name)).Concat(structs.Select(s => (s.CName, s.Name)))
            .Append(("(generated)", "NativeMethods")).Append(("(generated)", "Constants"))
            .Append(("(generated)", "NativeLayout")));
        CheckUnique("constant", constants.Select(c => (c.CName, c.Name)));
        CheckUnique("NativeMethods member", functions.Select(f => (f.CName, f.Name)).Append(("(generated)", "LibraryName")));

        if (_errors.Count > 0)
        {
            throw new GeneratorException("the header cannot be mapped exactly to C#:\n  " + string.Join("\n  ", _errors));
        }
        return new Header(constants, enums, structs, functions);
    }

    private Constant? ReadConstant(CXCursor cursor)
    {
        string cName = Spelling(cursor);
        if (CursorIsMacroFunctionLike(cursor) != 0)
        {
            SkippedMacros.Add(cName + "(...)");
            return null;
        }
        List<(CXTokenKind Kind, string Text)> tokens = Tokens(_unit, cursor);
        // The first token is the macro's own name.
        long? value = tokens.Count > 1 ? new MacroExpression(tokens.Skip(1).ToList(), _constants).Evaluate() : null;
        if (value is null)
        {
            SkippedMacros.Add(cName);
            return null;
        }
        var constant = new Constant(cName, Naming.Constant(cName, Where(cursor, _fileName)), value.Value);
        _constants[cName] = constant;
        return constant;
    }

    private EnumDeclaration ReadEnum(CXCursor cursor)
    {
        string where = Where(cursor, _fileName);
        string cName = TagName(cursor);
        CXType integerType = GetCanonicalType(GetEnumDeclIntegerType(cursor));
        bool unsigned = integerType.Kind is CXTypeKind.UChar or CXTypeKind.UShort or CXTypeKind.UInt
                                          or CXTypeKind.ULong or CXTypeKind.ULongLong or CXTypeKind.CharU;
        long size = TypeGetSizeOf(integerType);

        var cNames = new List<string>();
        var values = new List<long>();
        foreach (CXCursor member in Children(cursor).Where(c => GetCursorKind(c) == CXCursorKind.EnumConstantDecl))
        {
            cNames.Add(Spelling(member));
            if (unsigned)
            {
                ulong value = GetEnumConstantDeclUnsignedValue(member);
                if (value > long.MaxValue)
                {
                    throw Unsupported(member, $"enumerator {Spelling(member)} = {value} does not fit in a long");
                }
                values.Add((long)value);
            }
            else
            {
                values.Add(GetEnumConstantDeclValue(member));
            }
        }
        if (cNames.Count == 0)
        {
            throw Unsupported(cursor, $"enum {cName} has no members");
        }

        // C's enumeration constants have type int; clang gives an enum without negative values the
        // type unsigned int, which the C ABI passes exactly like int. Keep int whenever the values fit.
        PrimitiveType underlying = size == 4 && values.All(v => v is >= int.MinValue and <= int.MaxValue)
            ? new PrimitiveType("int", 4)
            : Integer(!unsigned, size, where, Spelling(integerType));

        IReadOnlyList<string> names = Naming.EnumMembers(cNames, where);
        var members = cNames.Select((name, i) => new EnumMember(name, names[i], values[i])).ToList();
        CheckUnique($"member of enum {cName}", members.Select(m => (m.CName, m.Name)));
        bool isFlags = members.Count > 1 && members.All(m => m.Value > 0 && BitOperations.IsPow2(m.Value));

        var declaration = new EnumDeclaration(cName, Naming.TypeOrFunction(cName, where), underlying, isFlags, members,
                                              Comment(cursor));
        _enums[Usr(cursor)] = declaration;
        return declaration;
    }

    private StructDeclaration ReadStruct(CXCursor cursor)
    {
        string where = Where(cursor, _fileName);
        string cName = TagName(cursor);
        CXType type = GetCursorType(cursor);
        long size = TypeGetSizeOf(type);
        long alignment = TypeGetAlignOf(type);
        if (size <= 0 || alignment <= 0)
        {
            throw Unsupported(cursor, $"struct {cName} has no layout (clang error {Math.Min(size, alignment)})");
        }

        string name = Naming.TypeOrFunction(cName, where);
        var fields = new List<Field>();
        foreach (CXCursor child in Children(cursor))
        {
            CXCursorKind kind = GetCursorKind(child);
            if (kind is CXCursorKind.StructDecl or CXCursorKind.UnionDecl or CXCursorKind.EnumDecl)
            {
                throw Unsupported(child, $"struct {cName}: nested or anonymous declarations are not supported");
            }
            if (kind != CXCursorKind.FieldDecl)
            {
                continue;
            }
            string fieldCName = Spelling(child);
            if (CursorIsBitField(child) != 0)
            {
                throw Unsupported(child, $"{cName}.{fieldCName}: bit-fields are not supported");
            }
            long offsetBits = CursorGetOffsetOfField(child);
            if (offsetBits < 0 || offsetBits % 8 != 0)
            {
                throw Unsupported(child, $"{cName}.{fieldCName}: no byte offset (clang gives {offsetBits})");
            }
            NativeType fieldType = Map(GetCursorType(child), Use.Field, Where(child, _fileName) + $" ({cName}.{fieldCName})");
            string fieldName = Naming.Field(fieldCName, Where(child, _fileName));
            if (fieldName == name)
            {
                throw Unsupported(child, $"{cName}.{fieldCName}: a C# member cannot have its struct's name '{name}'");
            }
            fields.Add(new Field(fieldCName, fieldName, fieldType, offsetBits / 8));
        }
        if (fields.Count == 0)
        {
            throw Unsupported(cursor, $"struct {cName} has no fields");
        }
        CheckUnique($"field of struct {cName}", fields.Select(f => (f.CName, f.Name)));

        var declaration = new StructDeclaration(cName, name, size, alignment, fields, Comment(cursor));
        List<string> mismatches = Layout.Mismatches(declaration);
        if (mismatches.Count > 0)
        {
            throw Unsupported(cursor, $"the C# layout of {cName} would differ from C: " + string.Join("; ", mismatches));
        }
        _structs[Usr(cursor)] = declaration;
        return declaration;
    }

    private FunctionDeclaration? ReadFunction(CXCursor cursor)
    {
        string where = Where(cursor, _fileName);
        string cName = Spelling(cursor);
        bool exported = Children(cursor).Any(child =>
            GetCursorKind(child) == CXCursorKind.DllExport ||
            GetCursorKind(child) == CXCursorKind.VisibilityAttr && Spelling(child) == "default");
        if (!exported)
        {
            if (CursorGetStorageClass(cursor) == CXStorageClass.Static)
            {
                return null; // A static (inline) helper of the header, not part of the ABI.
            }
            throw Unsupported(cursor, $"{cName} is declared without FASTERNET_API, so the library does not export it");
        }

        CXType type = GetCursorType(cursor);
        if (type.Kind == CXTypeKind.FunctionNoProto)
        {
            throw Unsupported(cursor, $"{cName} has no prototype: declare an empty parameter list as (void)");
        }
        if (CursorIsVariadic(cursor) != 0)
        {
            throw Unsupported(cursor, $"{cName} is variadic");
        }
        CXCallingConv callingConvention = GetFunctionTypeCallingConv(type);
        if (callingConvention != CXCallingConv.C)
        {
            throw Unsupported(cursor, $"{cName} uses calling convention {(int)callingConvention}, not cdecl");
        }

        NativeType result = Map(GetCursorResultType(cursor), Use.Return, $"{where} (result of {cName})");
        var parameters = new List<Parameter>();
        int count = CursorGetNumArguments(cursor);
        for (uint i = 0; i < count; i++)
        {
            CXCursor argument = CursorGetArgument(cursor, i);
            string parameterCName = Spelling(argument);
            string parameterName = parameterCName.Length == 0 ? $"arg{i}" : Naming.Parameter(parameterCName, where);
            NativeType parameterType = Map(GetCursorType(argument), Use.Parameter,
                                           $"{where} (parameter {parameterCName} of {cName})");
            parameters.Add(new Parameter(parameterCName, parameterName, parameterType));
        }
        CheckUnique($"parameter of {cName}", parameters.Select(p => (p.CName, p.Name)));
        return new FunctionDeclaration(cName, Naming.TypeOrFunction(cName, where), result, parameters, Comment(cursor));
    }

    /// <summary>Maps a C type to C#; anything not listed here is an error.</summary>
    private NativeType Map(CXType type, Use use, string where)
    {
        bool throughTypedef = false;
        while (true)
        {
            switch (type.Kind)
            {
                case CXTypeKind.Elaborated:
                    type = TypeGetNamedType(type);
                    continue;
                case CXTypeKind.Attributed:
                    type = TypeGetModifiedType(type);
                    continue;
                case CXTypeKind.Typedef:
                    if (PointerSizedTypedefs.TryGetValue(Take(GetTypedefName(type)), out NativeType? pointerSized))
                    {
                        return pointerSized;
                    }
                    throughTypedef = true;
                    type = GetTypedefDeclUnderlyingType(GetTypeDeclaration(type));
                    continue;
            }
            break;
        }

        string spelling = Spelling(type);
        switch (type.Kind)
        {
            case CXTypeKind.Void when use is Use.Return or Use.Pointee:
                return VoidType.Instance;
            case CXTypeKind.Bool:
                throw new GeneratorException($"{where}: bool has no fixed ABI across compilers; use int32_t (0 or 1)");
            case CXTypeKind.CharS or CXTypeKind.CharU:
                return new PrimitiveType("byte", 1); // char data is bytes (UTF-8 text); the managed layer decodes it.
            case CXTypeKind.Long or CXTypeKind.ULong when !throughTypedef:
                throw new GeneratorException($"{where}: '{spelling}' has a platform-dependent width; use int32_t or int64_t");
            case CXTypeKind.SChar or CXTypeKind.Short or CXTypeKind.Int or CXTypeKind.Long or CXTypeKind.LongLong:
                return Integer(true, TypeGetSizeOf(type), where, spelling);
            case CXTypeKind.UChar or CXTypeKind.UShort or CXTypeKind.UInt or CXTypeKind.ULong or CXTypeKind.ULongLong:
                return Integer(false, TypeGetSizeOf(type), where, spelling);
            case CXTypeKind.Float when TypeGetSizeOf(type) == 4:
                return new PrimitiveType("float", 4);
            case CXTypeKind.Double when TypeGetSizeOf(type) == 8:
                return new PrimitiveType("double", 8);
            case CXTypeKind.Pointer:
            {
                CXType pointee = GetPointeeType(type);
                CXType canonicalPointee = GetCanonicalType(pointee);
                if (canonicalPointee.Kind == CXTypeKind.Record && TypeGetSizeOf(canonicalPointee) == TypeLayoutErrorIncomplete)
                {
                    string tag = TagName(GetTypeDeclaration(canonicalPointee));
                    return new HandleType(tag, Naming.TypeOrFunction(tag, where) + "Handle");
                }
                if (canonicalPointee.Kind is CXTypeKind.FunctionProto or CXTypeKind.FunctionNoProto)
                {
                    throw new GeneratorException($"{where}: function pointers ('{spelling}') are not supported");
                }
                return new PointerType(Map(pointee, Use.Pointee, where));
            }
            case CXTypeKind.ConstantArray or CXTypeKind.IncompleteArray when use == Use.Parameter:
                // A C array parameter is a pointer to its first element.
                return new PointerType(Map(GetArrayElementType(type), Use.Pointee, where));
            case CXTypeKind.ConstantArray when use == Use.Field:
            {
                NativeType element = Map(GetArrayElementType(type), Use.Field, where);
                if (element is not PrimitiveType primitive || primitive.CSharp is "nint" or "nuint")
                {
                    throw new GeneratorException($"{where}: '{spelling}': C# fixed buffers hold only primitive numbers");
                }
                return new FixedBufferType(primitive, GetArraySize(type));
            }
            case CXTypeKind.Enum:
            {
                CXCursor declaration = GetTypeDeclaration(type);
                return _enums.TryGetValue(Usr(declaration), out EnumDeclaration? found)
                    ? new EnumType(found)
                    : throw new GeneratorException($"{where}: enum '{spelling}' is not defined in this header");
            }
            case CXTypeKind.Record:
            {
                CXCursor declaration = GetTypeDeclaration(type);
                if (GetCursorKind(declaration) == CXCursorKind.UnionDecl)
                {
                    throw new GeneratorException($"{where}: unions ('{spelling}') are not supported");
                }
                if (TypeGetSizeOf(type) == TypeLayoutErrorIncomplete)
                {
                    throw new GeneratorException($"{where}: opaque struct '{spelling}' can only be used through a pointer");
                }
                return _structs.TryGetValue(Usr(declaration), out StructDeclaration? found)
                    ? new StructType(found)
                    : throw new GeneratorException($"{where}: struct '{spelling}' is not defined (before its use) in this header");
            }
            default:
                throw new GeneratorException($"{where}: type '{spelling}' (clang type kind {(int)type.Kind}) is not supported here");
        }
    }

    private static PrimitiveType Integer(bool signed, long size, string where, string spelling) => (signed, size) switch
    {
        (true, 1) => new PrimitiveType("sbyte", 1),
        (true, 2) => new PrimitiveType("short", 2),
        (true, 4) => new PrimitiveType("int", 4),
        (true, 8) => new PrimitiveType("long", 8),
        (false, 1) => new PrimitiveType("byte", 1),
        (false, 2) => new PrimitiveType("ushort", 2),
        (false, 4) => new PrimitiveType("uint", 4),
        (false, 8) => new PrimitiveType("ulong", 8),
        _ => throw new GeneratorException($"{where}: integer type '{spelling}' of {size} bytes is not supported"),
    };

    /// <summary>The tag's name, or for an anonymous tag the name of the typedef that declares it.</summary>
    private string TagName(CXCursor tag)
    {
        if (CursorIsAnonymous(tag) == 0)
        {
            return Spelling(tag);
        }
        return _typedefNameOfAnonymousTag.TryGetValue(Usr(tag), out string? name)
            ? name
            : throw Unsupported(tag, "an anonymous enum or struct needs a typedef name");
    }

    /// <summary>The declaration's comment as plain lines, without the comment markers.</summary>
    private static IReadOnlyList<string> Comment(CXCursor cursor)
    {
        string raw = Take(CursorGetRawCommentText(cursor));
        if (raw.Length == 0)
        {
            return [];
        }
        var lines = new List<string>();
        foreach (string rawLine in raw.Replace("\r\n", "\n").Split('\n'))
        {
            string line = rawLine.Trim();
            if (line.StartsWith("/**", StringComparison.Ordinal) || line.StartsWith("///", StringComparison.Ordinal))
            {
                line = line[3..];
            }
            else if (line.StartsWith("/*", StringComparison.Ordinal) || line.StartsWith("//", StringComparison.Ordinal))
            {
                line = line[2..];
            }
            if (line.EndsWith("*/", StringComparison.Ordinal))
            {
                line = line[..^2];
            }
            if (line.StartsWith('*'))
            {
                line = line[1..];
            }
            lines.Add(line.Trim());
        }
        while (lines.Count > 0 && lines[0].Length == 0)
        {
            lines.RemoveAt(0);
        }
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }
        return lines;
    }

    private void CheckUnique(string what, IEnumerable<(string CName, string Name)> names)
    {
        foreach (IGrouping<string, (string CName, string Name)> group in names.GroupBy(n => n.Name).Where(g => g.Count() > 1))
        {
            _errors.Add($"{_fileName}: {string.Join(" and ", group.Select(n => n.CName))} would all become the {what} '{group.Key}'");
        }
    }

    private GeneratorException Unsupported(CXCursor cursor, string message) =>
        new($"{Where(cursor, _fileName)}: {message}");
}

/// <summary>
/// Evaluates an object-like macro's body when it is an integer constant expression: literals,
/// earlier integer macros, parentheses, unary + - ~ and binary * / % + - &lt;&lt; &gt;&gt; &amp; ^ |.
/// Anything else (attributes, strings, floats) yields null and the macro is not emitted.
/// </summary>
internal sealed class MacroExpression(List<(CXTokenKind Kind, string Text)> tokens, Dictionary<string, Constant> known)
{
    private static readonly string[][] BinaryLevels =
    [
        ["|"], ["^"], ["&"], ["<<", ">>"], ["+", "-"], ["*", "/", "%"],
    ];

    private int _position;

    public long? Evaluate()
    {
        try
        {
            long value = Binary(0);
            return _position == tokens.Count ? value : null;
        }
        catch (Exception error) when (error is FormatException or OverflowException or DivideByZeroException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    private long Binary(int level)
    {
        if (level == BinaryLevels.Length)
        {
            return Unary();
        }
        long left = Binary(level + 1);
        while (_position < tokens.Count && tokens[_position].Kind == CXTokenKind.Punctuation &&
               BinaryLevels[level].Contains(tokens[_position].Text))
        {
            string op = tokens[_position++].Text;
            long right = Binary(level + 1);
            left = checked(op switch
            {
                "|" => left | right,
                "^" => left ^ right,
                "&" => left & right,
                "<<" => right is >= 0 and < 63 ? left << (int)right : throw new OverflowException(),
                ">>" => right is >= 0 and < 63 ? left >> (int)right : throw new OverflowException(),
                "+" => left + right,
                "-" => left - right,
                "*" => left * right,
                "/" => left / right,
                _ => left % right,
            });
        }
        return left;
    }

    private long Unary()
    {
        (CXTokenKind kind, string text) = tokens[_position++];
        if (kind == CXTokenKind.Punctuation)
        {
            switch (text)
            {
                case "-": return checked(-Unary());
                case "+": return Unary();
                case "~": return ~Unary();
                case "(":
                    long inner = Binary(0);
                    if (tokens[_position++].Text != ")")
                    {
                        throw new FormatException();
                    }
                    return inner;
            }
        }
        if (kind == CXTokenKind.Identifier && known.TryGetValue(text, out Constant? constant))
        {
            return constant.Value;
        }
        if (kind == CXTokenKind.Literal)
        {
            return Literal(text);
        }
        throw new FormatException();
    }

    private static long Literal(string text)
    {
        string digits = text.TrimEnd('u', 'U', 'l', 'L');
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return checked((long)ulong.Parse(digits[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
        }
        if (digits.StartsWith("0b", StringComparison.OrdinalIgnoreCase))
        {
            return checked((long)Convert.ToUInt64(digits[2..], 2));
        }
        if (digits.Length > 1 && digits[0] == '0')
        {
            return checked((long)Convert.ToUInt64(digits[1..], 8));
        }
        return long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
    }
}
