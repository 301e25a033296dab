using System.Text;

namespace FasterNet.Bindings.Generator;

/// <summary>
/// C names to C# names. A name is cut into words at underscores and where a letter follows a
/// digit; each word keeps its first letter upper-case and the rest lower-case
/// (FASTERNET_CPU_AVX512BW -> Avx512Bw, patch_size2 -> PatchSize2).
/// </summary>
internal static class Naming
{
    public const string Prefix = "fasternet_";

    private static readonly HashSet<string> Keywords =
    [
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const",
        "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern",
        "false", "finally", "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface",
        "internal", "is", "lock", "long", "namespace", "new", "null", "object", "operator", "out", "override",
        "params", "private", "protected", "public", "readonly", "ref", "return", "sbyte", "sealed", "short",
        "sizeof", "stackalloc", "static", "string", "struct", "switch", "this", "throw", "true", "try", "typeof",
        "uint", "ulong", "unchecked", "unsafe", "ushort", "using", "virtual", "void", "volatile", "while",
    ];

    /// <summary>Type and function names: fasternet_model_create -> ModelCreate.</summary>
    public static string TypeOrFunction(string cName, string where) => Checked(Pascal(StripPrefix(cName, where)), cName, where);

    /// <summary>Constants: FASTERNET_MAX_STAGES -> MaxStages.</summary>
    public static string Constant(string cName, string where) => Checked(Pascal(StripPrefix(cName, where)), cName, where);

    /// <summary>Struct fields: in_channels -> InChannels.</summary>
    public static string Field(string cName, string where) => Checked(Pascal(cName), cName, where);

    /// <summary>Parameters: kernel_set -> kernelSet; C# keywords get an @.</summary>
    public static string Parameter(string cName, string where)
    {
        string pascal = Checked(Pascal(cName), cName, where);
        string camel = char.ToLowerInvariant(pascal[0]) + pascal[1..];
        return Keywords.Contains(camel) ? "@" + camel : camel;
    }

    /// <summary>
    /// Enum members lose the longest prefix, ending at an underscore, that all members of the enum
    /// share (FASTERNET_KERNELS_AVX512 -> Avx512).
    /// </summary>
    public static IReadOnlyList<string> EnumMembers(IReadOnlyList<string> cNames, string where)
    {
        int prefix = CommonPrefixAtUnderscore(cNames);
        return cNames.Select(name => Checked(Pascal(name[prefix..]), name, where)).ToList();
    }

    private static int CommonPrefixAtUnderscore(IReadOnlyList<string> names)
    {
        if (names.Count == 0)
        {
            return 0;
        }
        int common = 0;
        while (common < names.Min(name => name.Length) && names.All(name => name[common] == names[0][common]))
        {
            common++;
        }
        // The longest shared part that ends at an underscore and leaves every name something.
        int best = 0;
        for (int length = 1; length <= common; length++)
        {
            if (names[0][length - 1] == '_' && names.All(name => name.Length > length))
            {
                best = length;
            }
        }
        return best;
    }

    private static string StripPrefix(string cName, string where)
    {
        if (!cName.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) || cName.Length == Prefix.Length)
        {
            throw new GeneratorException($"{where}: '{cName}' does not start with the prefix '{Prefix}' (or 'FASTERNET_')");
        }
        return cName[Prefix.Length..];
    }

    private static string Pascal(string name)
    {
        var builder = new StringBuilder(name.Length);
        bool startOfWord = true;
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (c == '_')
            {
                startOfWord = true;
                continue;
            }
            if (char.IsLetter(c) && i > 0 && char.IsDigit(name[i - 1]))
            {
                startOfWord = true;
            }
            builder.Append(startOfWord ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            startOfWord = false;
        }
        return builder.ToString();
    }

    private static string Checked(string name, string cName, string where)
    {
        if (name.Length == 0 || !(char.IsLetter(name[0]) || name[0] == '_') || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            throw new GeneratorException($"{where}: '{cName}' gives '{name}', which is not a valid C# identifier");
        }
        return name;
    }
}

/// <summary>A problem with the header or the environment, reported to the user without a stack trace.</summary>
internal sealed class GeneratorException(string message) : Exception(message);
