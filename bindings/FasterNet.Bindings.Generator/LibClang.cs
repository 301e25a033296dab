using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FasterNet.Bindings.Generator;

// The few pieces of libclang's C API (clang-c/Index.h) the generator needs, declared by hand.
// Values of the enums below are libclang's stable ABI.

internal enum CXCursorKind
{
    StructDecl = 2,
    UnionDecl = 3,
    EnumDecl = 5,
    FieldDecl = 6,
    EnumConstantDecl = 7,
    FunctionDecl = 8,
    VarDecl = 9,
    TypedefDecl = 20,
    VisibilityAttr = 417,
    DllExport = 418,
    MacroDefinition = 501,
}

internal enum CXTypeKind
{
    Invalid = 0,
    Void = 2,
    Bool = 3,
    CharU = 4,
    UChar = 5,
    UShort = 8,
    UInt = 9,
    ULong = 10,
    ULongLong = 11,
    CharS = 13,
    SChar = 14,
    Short = 16,
    Int = 17,
    Long = 18,
    LongLong = 19,
    Float = 21,
    Double = 22,
    Pointer = 101,
    Record = 105,
    Enum = 106,
    Typedef = 107,
    FunctionNoProto = 110,
    FunctionProto = 111,
    ConstantArray = 112,
    IncompleteArray = 114,
    Elaborated = 119,
    Attributed = 163,
}

internal enum CXDiagnosticSeverity
{
    Ignored = 0,
    Note = 1,
    Warning = 2,
    Error = 3,
    Fatal = 4,
}

internal enum CXTokenKind
{
    Punctuation = 0,
    Keyword = 1,
    Identifier = 2,
    Literal = 3,
    Comment = 4,
}

internal enum CXStorageClass
{
    Invalid = 0,
    None = 1,
    Extern = 2,
    Static = 3,
}

internal enum CXCallingConv
{
    Default = 0,
    C = 1,
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXString
{
    public void* Data;
    public uint PrivateFlags;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXCursor
{
    public CXCursorKind Kind;
    public int XData;
    public void* Data0;
    public void* Data1;
    public void* Data2;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXType
{
    public CXTypeKind Kind;
    public void* Data0;
    public void* Data1;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXSourceLocation
{
    public void* PtrData0;
    public void* PtrData1;
    public uint IntData;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXSourceRange
{
    public void* PtrData0;
    public void* PtrData1;
    public uint BeginIntData;
    public uint EndIntData;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXToken
{
    public uint IntData0;
    public uint IntData1;
    public uint IntData2;
    public uint IntData3;
    public void* PtrData;
}

internal static unsafe partial class LibClang
{
    public const string LibraryName = "libclang";

    public const uint DetailedPreprocessingRecord = 0x01;
    public const uint SkipFunctionBodies = 0x40;
    public const int ChildVisitContinue = 1;
    public const long TypeLayoutErrorIncomplete = -2;

    [LibraryImport(LibraryName, EntryPoint = "clang_getClangVersion")]
    public static partial CXString GetClangVersion();

    [LibraryImport(LibraryName, EntryPoint = "clang_getCString")]
    public static partial byte* GetCString(CXString text);

    [LibraryImport(LibraryName, EntryPoint = "clang_disposeString")]
    public static partial void DisposeString(CXString text);

    [LibraryImport(LibraryName, EntryPoint = "clang_createIndex")]
    public static partial nint CreateIndex(int excludeDeclarationsFromPch, int displayDiagnostics);

    [LibraryImport(LibraryName, EntryPoint = "clang_disposeIndex")]
    public static partial void DisposeIndex(nint index);

    [LibraryImport(LibraryName, EntryPoint = "clang_parseTranslationUnit2")]
    public static partial int ParseTranslationUnit2(nint index, byte* sourceFilename, byte** commandLineArgs,
                                                    int numCommandLineArgs, void* unsavedFiles, uint numUnsavedFiles,
                                                    uint options, nint* translationUnit);

    [LibraryImport(LibraryName, EntryPoint = "clang_disposeTranslationUnit")]
    public static partial void DisposeTranslationUnit(nint translationUnit);

    [LibraryImport(LibraryName, EntryPoint = "clang_getNumDiagnostics")]
    public static partial uint GetNumDiagnostics(nint translationUnit);

    [LibraryImport(LibraryName, EntryPoint = "clang_getDiagnostic")]
    public static partial nint GetDiagnostic(nint translationUnit, uint index);

    [LibraryImport(LibraryName, EntryPoint = "clang_getDiagnosticSeverity")]
    public static partial CXDiagnosticSeverity GetDiagnosticSeverity(nint diagnostic);

    [LibraryImport(LibraryName, EntryPoint = "clang_defaultDiagnosticDisplayOptions")]
    public static partial uint DefaultDiagnosticDisplayOptions();

    [LibraryImport(LibraryName, EntryPoint = "clang_formatDiagnostic")]
    public static partial CXString FormatDiagnostic(nint diagnostic, uint options);

    [LibraryImport(LibraryName, EntryPoint = "clang_disposeDiagnostic")]
    public static partial void DisposeDiagnostic(nint diagnostic);

    [LibraryImport(LibraryName, EntryPoint = "clang_getTranslationUnitCursor")]
    public static partial CXCursor GetTranslationUnitCursor(nint translationUnit);

    [LibraryImport(LibraryName, EntryPoint = "clang_visitChildren")]
    public static partial uint VisitChildren(CXCursor parent,
                                             delegate* unmanaged[Cdecl]<CXCursor, CXCursor, nint, int> visitor,
                                             nint clientData);

    [LibraryImport(LibraryName, EntryPoint = "clang_getCursorKind")]
    public static partial CXCursorKind GetCursorKind(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_getCursorSpelling")]
    public static partial CXString GetCursorSpelling(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_getCursorUSR")]
    public static partial CXString GetCursorUsr(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_getCursorType")]
    public static partial CXType GetCursorType(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_getCursorLocation")]
    public static partial CXSourceLocation GetCursorLocation(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_getCursorExtent")]
    public static partial CXSourceRange GetCursorExtent(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_Location_isFromMainFile")]
    public static partial int LocationIsFromMainFile(CXSourceLocation location);

    [LibraryImport(LibraryName, EntryPoint = "clang_getSpellingLocation")]
    public static partial void GetSpellingLocation(CXSourceLocation location, nint* file, uint* line, uint* column,
                                                   uint* offset);

    [LibraryImport(LibraryName, EntryPoint = "clang_isCursorDefinition")]
    public static partial uint IsCursorDefinition(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_Cursor_isAnonymous")]
    public static partial uint CursorIsAnonymous(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_Cursor_isBitField")]
    public static partial uint CursorIsBitField(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_Cursor_isVariadic")]
    public static partial uint CursorIsVariadic(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_Cursor_isMacroFunctionLike")]
    public static partial uint CursorIsMacroFunctionLike(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_Cursor_getStorageClass")]
    public static partial CXStorageClass CursorGetStorageClass(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_Cursor_getRawCommentText")]
    public static partial CXString CursorGetRawCommentText(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_Cursor_getNumArguments")]
    public static partial int CursorGetNumArguments(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_Cursor_getArgument")]
    public static partial CXCursor CursorGetArgument(CXCursor cursor, uint index);

    [LibraryImport(LibraryName, EntryPoint = "clang_Cursor_getOffsetOfField")]
    public static partial long CursorGetOffsetOfField(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_getCursorResultType")]
    public static partial CXType GetCursorResultType(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_getEnumDeclIntegerType")]
    public static partial CXType GetEnumDeclIntegerType(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_getEnumConstantDeclValue")]
    public static partial long GetEnumConstantDeclValue(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_getEnumConstantDeclUnsignedValue")]
    public static partial ulong GetEnumConstantDeclUnsignedValue(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_getTypedefDeclUnderlyingType")]
    public static partial CXType GetTypedefDeclUnderlyingType(CXCursor cursor);

    [LibraryImport(LibraryName, EntryPoint = "clang_getTypeSpelling")]
    public static partial CXString GetTypeSpelling(CXType type);

    [LibraryImport(LibraryName, EntryPoint = "clang_getTypedefName")]
    public static partial CXString GetTypedefName(CXType type);

    [LibraryImport(LibraryName, EntryPoint = "clang_getCanonicalType")]
    public static partial CXType GetCanonicalType(CXType type);

    [LibraryImport(LibraryName, EntryPoint = "clang_getPointeeType")]
    public static partial CXType GetPointeeType(CXType type);

    [LibraryImport(LibraryName, EntryPoint = "clang_getTypeDeclaration")]
    public static partial CXCursor GetTypeDeclaration(CXType type);

    [LibraryImport(LibraryName, EntryPoint = "clang_getArrayElementType")]
    public static partial CXType GetArrayElementType(CXType type);

    [LibraryImport(LibraryName, EntryPoint = "clang_getArraySize")]
    public static partial long GetArraySize(CXType type);

    [LibraryImport(LibraryName, EntryPoint = "clang_Type_getNamedType")]
    public static partial CXType TypeGetNamedType(CXType type);

    [LibraryImport(LibraryName, EntryPoint = "clang_Type_getModifiedType")]
    public static partial CXType TypeGetModifiedType(CXType type);

    [LibraryImport(LibraryName, EntryPoint = "clang_Type_getSizeOf")]
    public static partial long TypeGetSizeOf(CXType type);

    [LibraryImport(LibraryName, EntryPoint = "clang_Type_getAlignOf")]
    public static partial long TypeGetAlignOf(CXType type);

    [LibraryImport(LibraryName, EntryPoint = "clang_getFunctionTypeCallingConv")]
    public static partial CXCallingConv GetFunctionTypeCallingConv(CXType type);

    [LibraryImport(LibraryName, EntryPoint = "clang_tokenize")]
    public static partial void Tokenize(nint translationUnit, CXSourceRange range, CXToken** tokens, uint* count);

    [LibraryImport(LibraryName, EntryPoint = "clang_getTokenKind")]
    public static partial CXTokenKind GetTokenKind(CXToken token);

    [LibraryImport(LibraryName, EntryPoint = "clang_getTokenSpelling")]
    public static partial CXString GetTokenSpelling(nint translationUnit, CXToken token);

    [LibraryImport(LibraryName, EntryPoint = "clang_disposeTokens")]
    public static partial void DisposeTokens(nint translationUnit, CXToken* tokens, uint count);

    /// <summary>Converts a CXString to a managed string and disposes it.</summary>
    public static string Take(CXString text)
    {
        try
        {
            byte* chars = GetCString(text);
            return chars == null ? "" : Marshal.PtrToStringUTF8((nint)chars) ?? "";
        }
        finally
        {
            DisposeString(text);
        }
    }

    public static string Spelling(CXCursor cursor) => Take(GetCursorSpelling(cursor));

    public static string Spelling(CXType type) => Take(GetTypeSpelling(type));

    public static string Usr(CXCursor cursor) => Take(GetCursorUsr(cursor));

    /// <summary>"file.h:12" for error messages.</summary>
    public static string Where(CXCursor cursor, string fileName)
    {
        uint line;
        GetSpellingLocation(GetCursorLocation(cursor), null, &line, null, null);
        return $"{fileName}:{line}";
    }

    /// <summary>The direct children of a cursor, in source order.</summary>
    public static List<CXCursor> Children(CXCursor parent)
    {
        var children = new List<CXCursor>();
        GCHandle handle = GCHandle.Alloc(children);
        try
        {
            VisitChildren(parent, &CollectChild, GCHandle.ToIntPtr(handle));
        }
        finally
        {
            handle.Free();
        }
        return children;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int CollectChild(CXCursor cursor, CXCursor parent, nint clientData)
    {
        var children = (List<CXCursor>)GCHandle.FromIntPtr(clientData).Target!;
        children.Add(cursor);
        return ChildVisitContinue;
    }

    /// <summary>The spellings and kinds of the tokens a cursor covers (used for macro bodies).</summary>
    public static List<(CXTokenKind Kind, string Text)> Tokens(nint translationUnit, CXCursor cursor)
    {
        CXToken* tokens = null;
        uint count = 0;
        Tokenize(translationUnit, GetCursorExtent(cursor), &tokens, &count);
        var result = new List<(CXTokenKind, string)>((int)count);
        try
        {
            for (uint i = 0; i < count; i++)
            {
                result.Add((GetTokenKind(tokens[i]), Take(GetTokenSpelling(translationUnit, tokens[i]))));
            }
        }
        finally
        {
            if (tokens != null)
            {
                DisposeTokens(translationUnit, tokens, count);
            }
        }
        return result;
    }

    /// <summary>
    /// Loads libclang from an explicit path when one is given, else from the NuGet
    /// runtime package's copy in the output folder (runtimes/linux-x64/native/libclang.so).
    /// </summary>
    public static void UseLibrary(string? explicitPath)
    {
        NativeLibrary.SetDllImportResolver(typeof(LibClang).Assembly, (name, assembly, searchPath) =>
        {
            if (name != LibraryName)
            {
                return IntPtr.Zero;
            }
            if (!string.IsNullOrEmpty(explicitPath))
            {
                return NativeLibrary.Load(Path.GetFullPath(explicitPath)); // Throws when it cannot: no silent fallback.
            }
            foreach (string candidate in Candidates(explicitPath))
            {
                if (File.Exists(candidate))
                {
                    return NativeLibrary.Load(candidate);
                }
            }
            return NativeLibrary.TryLoad(name, assembly, searchPath, out nint handle) ? handle : IntPtr.Zero;
        });
    }

    public static IEnumerable<string> Candidates(string? explicitPath)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            yield return Path.GetFullPath(explicitPath);
            yield break;
        }
        string baseDirectory = AppContext.BaseDirectory;
        string rid = RuntimeInformation.RuntimeIdentifier;
        string fileName = OperatingSystem.IsWindows() ? "libclang.dll"
                        : OperatingSystem.IsMacOS() ? "libclang.dylib"
                        : "libclang.so";
        yield return Path.Combine(baseDirectory, "runtimes", rid, "native", fileName);
        yield return Path.Combine(baseDirectory, "runtimes", PortableRid(), "native", fileName);
        yield return Path.Combine(baseDirectory, fileName);
    }

    private static string PortableRid()
    {
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        string arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        return $"{os}-{arch}";
    }
}
