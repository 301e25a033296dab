using System.Text;
using FasterNet.Bindings.Generator;

// Generates bindings/generated/NativeMethods.g.cs from native/include/fasternet.h (see bindings/README.md).
// Exit codes: 0 written or up to date, 1 stale (--check), 2 error.

const string GeneratorProject = "bindings/FasterNet.Bindings.Generator";
const string Usage =
    "usage: dotnet run --project " + GeneratorProject + " -- --header <fasternet.h> --output <NativeMethods.g.cs>\n" +
    "           [--check] [--verbose] [--resource-dir <clang resource dir>] [--libclang <path to libclang>]\n" +
    "  --check         compare with the existing output instead of writing it; exit 1 when it is stale\n" +
    "  --resource-dir  clang's own headers (stddef.h ...); default: $FASTERNET_CLANG_RESOURCE_DIR, else the\n" +
    "                  newest /usr/lib/llvm-*/lib/clang/* (Debian: libclang-common-14-dev)\n" +
    "  --libclang      libclang to load; default: $FASTERNET_LIBCLANG, else the one from the libclang NuGet package";

string? headerArgument = null, outputArgument = null, resourceDirectory = null, libclang = null;
bool check = false, verbose = false;
for (int i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    try
    {
        switch (args[i])
        {
            case "--header": headerArgument = Value(); break;
            case "--output": outputArgument = Value(); break;
            case "--resource-dir": resourceDirectory = Value(); break;
            case "--libclang": libclang = Value(); break;
            case "--check": check = true; break;
            case "--verbose": verbose = true; break;
            case "-h" or "--help":
                Console.WriteLine(Usage);
                return 0;
            default: throw new ArgumentException($"unknown argument '{args[i]}'");
        }
    }
    catch (ArgumentException error)
    {
        Console.Error.WriteLine($"error: {error.Message}\n{Usage}");
        return 2;
    }
}
libclang ??= Environment.GetEnvironmentVariable("FASTERNET_LIBCLANG");
if (headerArgument is null || outputArgument is null)
{
    Console.Error.WriteLine($"error: --header and --output are required\n{Usage}");
    return 2;
}

string headerPath = Path.GetFullPath(headerArgument);
string outputPath = Path.GetFullPath(outputArgument);
string repositoryRoot = Paths.FindRepositoryRoot(outputPath);
string headerName = Paths.Relative(repositoryRoot, headerPath);
string outputName = Paths.Relative(repositoryRoot, outputPath);
string command = $"dotnet run --project {GeneratorProject} -- --header {headerName} --output {outputName}";
void Info(string message)
{
    if (!check || verbose)
    {
        Console.WriteLine(message);
    }
}

try
{
    if (!File.Exists(headerPath))
    {
        throw new GeneratorException($"header {headerPath} not found");
    }
    LibClang.UseLibrary(libclang);
    resourceDirectory ??= Environment.GetEnvironmentVariable("FASTERNET_CLANG_RESOURCE_DIR");
    resourceDirectory ??= Paths.FindClangResourceDirectory();
    Info($"libclang: {LibClang.Take(LibClang.GetClangVersion())}");
    if (resourceDirectory is null)
    {
        Console.Error.WriteLine("warning: clang's resource headers (stddef.h, ...) not found; install libclang-common-14-dev " +
                                "or pass --resource-dir. Parsing without them.");
    }
    else
    {
        Info($"clang resource dir: {resourceDirectory}");
    }

    Header header = HeaderParser.Parse(headerPath, resourceDirectory, Info, warning => Console.Error.WriteLine($"warning: {warning}"));
    foreach (StructDeclaration declaration in header.Structs)
    {
        Info($"{declaration.CName}: sizeof {declaration.Size}, alignof {declaration.Alignment} " +
             $"(clang), C# {Layout.ManagedSize(declaration)}/{Layout.ManagedAlignment(declaration)}: same layout");
    }
    Info($"{header.Functions.Count} functions, {header.Enums.Count} enums, {header.Structs.Count} structs, " +
         $"{header.Constants.Count} constants");

    string text = new CSharpEmitter(header, headerName, command).Emit();
    string? existing = File.Exists(outputPath) ? File.ReadAllText(outputPath).ReplaceLineEndings("\n") : null;
    if (check)
    {
        if (existing != text)
        {
            Console.Error.WriteLine($"{outputName} is {(existing is null ? "missing" : "stale")}: run {command}");
            if (existing is not null)
            {
                Console.Error.WriteLine($"  (first difference at line {FirstDifference(existing, text)}; run it from the repository root)");
            }
            return 1;
        }
        Info($"{outputName} is up to date");
        return 0;
    }
    if (File.Exists(outputPath) && File.ReadAllBytes(outputPath).AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(text)))
    {
        Info($"{outputName} is up to date");
        return 0;
    }
    Directory.CreateDirectory(Path.GetDirectoryName(outputPath)!);
    File.WriteAllText(outputPath, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
    Info($"wrote {outputName}");
    return 0;
}
catch (GeneratorException error)
{
    Console.Error.WriteLine($"error: {error.Message}");
    return 2;
}
catch (DllNotFoundException error)
{
    Console.Error.WriteLine($"error: cannot load libclang ({error.Message}). Looked for: " +
                            string.Join(", ", LibClang.Candidates(libclang)) +
                            ". Restore the generator project (it references the libclang NuGet packages), " +
                            "or pass --libclang /usr/lib/x86_64-linux-gnu/libclang-14.so.1");
    return 2;
}

static int FirstDifference(string a, string b)
{
    string[] left = a.Split('\n'), right = b.Split('\n');
    int line = 0;
    while (line < left.Length && line < right.Length && left[line] == right[line])
    {
        line++;
    }
    return line + 1;
}

internal static class Paths
{
    /// <summary>The nearest folder above <paramref name="path"/> holding Directory.Packages.props, else the current folder.</summary>
    public static string FindRepositoryRoot(string path)
    {
        for (DirectoryInfo? directory = new FileInfo(path).Directory; directory != null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Directory.Packages.props")))
            {
                return directory.FullName;
            }
        }
        return Directory.GetCurrentDirectory();
    }

    public static string Relative(string root, string path) => Path.GetRelativePath(root, path).Replace('\\', '/');

    /// <summary>The newest clang resource folder (the one holding clang's stddef.h) installed on this machine.</summary>
    public static string? FindClangResourceDirectory()
    {
        var parents = new List<string>();
        if (Directory.Exists("/usr/lib"))
        {
            parents.AddRange(Directory.GetDirectories("/usr/lib", "llvm-*").Select(d => Path.Combine(d, "lib", "clang")));
            parents.Add("/usr/lib/clang");
            parents.Add("/usr/local/lib/clang");
        }
        return parents
            .Where(Directory.Exists)
            .SelectMany(Directory.GetDirectories)
            .Where(d => File.Exists(Path.Combine(d, "include", "stddef.h")))
            .OrderByDescending(d => Version.TryParse(Path.GetFileName(d), out Version? v) ? v : new Version(0, 0))
            .ThenBy(d => d, StringComparer.Ordinal)
            .FirstOrDefault();
    }
}
