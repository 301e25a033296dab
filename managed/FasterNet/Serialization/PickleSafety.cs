using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace FasterNet.Serialization;

/// <summary>
/// Checks a pickle stream before anything unpickles it: every global it names (GLOBAL, INST and
/// STACK_GLOBAL, whose module and name come from string pushes or memo gets) must be on the allow-list,
/// every call (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ) must call such a global, and unknown opcodes are refused.
/// The walk keeps a symbolic stack and memo that mirror the unpickler's, so a global cannot be hidden
/// behind DUP, PUT/GET or MEMOIZE. Any stream the check cannot follow exactly is refused as corrupt.
/// </summary>
internal static class PickleSafety
{
    /// <summary>The globals a PyTorch state_dict needs (as "module.name").</summary>
    public static readonly IReadOnlySet<string> AllowedGlobals = new HashSet<string>(StringComparer.Ordinal)
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "torch.FloatStorage",
        "torch.HalfStorage",
        "torch.BFloat16Storage",
        "torch.DoubleStorage",
        "torch.LongStorage",
        "torch.IntStorage",
        "torch.ShortStorage",
        "torch.CharStorage",
        "torch.ByteStorage",
        "torch.BoolStorage",
    };

    private enum Kind { Mark, Text, Global, Value }

    private readonly record struct Symbol(Kind Kind, string? Text = null)
    {
        public static readonly Symbol Mark = new(Kind.Mark);
        public static readonly Symbol Value = new(Kind.Value);
    }

    /// <summary>Throws <see cref="CheckpointFormatException"/> unless the pickle is safe to unpickle.</summary>
    /// <param name="pickle">The whole pickle stream.</param>
    /// <param name="source">The file name used in messages.</param>
    /// <param name="recordName">The archive record the pickle came from, used in messages.</param>
    public static void Check(ReadOnlyMemory<byte> pickle, string source, string recordName) =>
        new Walker(pickle, source, recordName).Run();

    private sealed class Walker(ReadOnlyMemory<byte> memory, string source, string recordName)
    {
        private readonly List<Symbol> _stack = new();
        private readonly Dictionary<long, Symbol> _memo = new();
        private int _position;
        private int _opcodePosition;

        private ReadOnlySpan<byte> Pickle => memory.Span;

        public void Run()
        {
            while (true)
            {
                if (_position >= Pickle.Length)
                    throw Corrupt("the pickle ends without a STOP opcode (truncated?)");
                _opcodePosition = _position;
                byte opcode = Pickle[_position++];

                switch (opcode)
                {
                    case (byte)'.': // STOP
                        if (_stack.Count != 1 || _stack[0].Kind == Kind.Mark)
                            throw Corrupt("STOP with an unbalanced stack");
                        return;

                    case (byte)'(': _stack.Add(Symbol.Mark); break; // MARK
                    case (byte)'0': Pop(); break; // POP
                    case (byte)'1': PopToMark(); break; // POP_MARK
                    case (byte)'2': { var top = Peek(); _stack.Add(top); break; } // DUP

                    // Numbers, None and booleans.
                    case (byte)'F' or (byte)'I' or (byte)'L': Line(); _stack.Add(Symbol.Value); break;
                    case (byte)'J': Skip(4); _stack.Add(Symbol.Value); break; // BININT
                    case (byte)'K': Skip(1); _stack.Add(Symbol.Value); break; // BININT1
                    case (byte)'M': Skip(2); _stack.Add(Symbol.Value); break; // BININT2
                    case (byte)'G': Skip(8); _stack.Add(Symbol.Value); break; // BINFLOAT
                    case (byte)'N' or 0x88 or 0x89: _stack.Add(Symbol.Value); break; // NONE, NEWTRUE, NEWFALSE
                    case 0x8a: Skip(Length(1)); _stack.Add(Symbol.Value); break; // LONG1
                    case 0x8b: Skip(Length(4)); _stack.Add(Symbol.Value); break; // LONG4

                    // Strings (the only values STACK_GLOBAL may take its module and name from).
                    case (byte)'S': _stack.Add(new Symbol(Kind.Text, QuotedText(Line()))); break; // STRING
                    case (byte)'V': _stack.Add(new Symbol(Kind.Text, Latin1(Line()))); break; // UNICODE
                    case (byte)'T': _stack.Add(new Symbol(Kind.Text, Latin1(Take(Length(4))))); break; // BINSTRING
                    case (byte)'U': _stack.Add(new Symbol(Kind.Text, Latin1(Take(Length(1))))); break; // SHORT_BINSTRING
                    case (byte)'X': _stack.Add(new Symbol(Kind.Text, Utf8(Take(Length(4))))); break; // BINUNICODE
                    case 0x8c: _stack.Add(new Symbol(Kind.Text, Utf8(Take(Length(1))))); break; // SHORT_BINUNICODE
                    case 0x8d: _stack.Add(new Symbol(Kind.Text, Utf8(Take(Length(8))))); break; // BINUNICODE8

                    // Bytes.
                    case (byte)'B': Skip(Length(4)); _stack.Add(Symbol.Value); break; // BINBYTES
                    case (byte)'C': Skip(Length(1)); _stack.Add(Symbol.Value); break; // SHORT_BINBYTES
                    case 0x8e or 0x96: Skip(Length(8)); _stack.Add(Symbol.Value); break; // BINBYTES8, BYTEARRAY8

                    // Containers.
                    case (byte)')' or (byte)']' or (byte)'}' or 0x8f: _stack.Add(Symbol.Value); break; // EMPTY_TUPLE/LIST/DICT/SET
                    case (byte)'t' or (byte)'l' or (byte)'d' or 0x91: PopToMark(); _stack.Add(Symbol.Value); break; // TUPLE, LIST, DICT, FROZENSET
                    case 0x85: PopValues(1); _stack.Add(Symbol.Value); break; // TUPLE1
                    case 0x86: PopValues(2); _stack.Add(Symbol.Value); break; // TUPLE2
                    case 0x87: PopValues(3); _stack.Add(Symbol.Value); break; // TUPLE3
                    case (byte)'a': PopValues(1); Peek(); break; // APPEND
                    case (byte)'e' or 0x90: PopToMark(); Peek(); break; // APPENDS, ADDITEMS
                    case (byte)'s': PopValues(2); Peek(); break; // SETITEM
                    case (byte)'u': // SETITEMS
                        if (PopToMark() % 2 != 0)
                            throw Corrupt("SETITEMS with an odd number of items");
                        Peek();
                        break;
                    case (byte)'b': PopValues(1); Peek(); break; // BUILD

                    // Memo.
                    case (byte)'p': Memoize(ParseIndex(Line())); break; // PUT
                    case (byte)'q': Memoize(Take(1)[0]); break; // BINPUT
                    case (byte)'r': Memoize(BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break; // LONG_BINPUT
                    case 0x94: Memoize(_memo.Count); break; // MEMOIZE
                    case (byte)'g': Recall(ParseIndex(Line())); break; // GET
                    case (byte)'h': Recall(Take(1)[0]); break; // BINGET
                    case (byte)'j': Recall(BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break; // LONG_BINGET

                    // Globals and calls.
                    case (byte)'c': // GLOBAL
                    {
                        string module = Utf8(Line());
                        string name = Utf8(Line());
                        _stack.Add(new Symbol(Kind.Global, RequireAllowed(module, name, "GLOBAL")));
                        break;
                    }
                    case 0x93: // STACK_GLOBAL
                    {
                        var name = PopValue();
                        var module = PopValue();
                        if (module.Kind != Kind.Text || name.Kind != Kind.Text)
                            throw Corrupt("STACK_GLOBAL whose module or name is not a string");
                        _stack.Add(new Symbol(Kind.Global, RequireAllowed(module.Text!, name.Text!, "STACK_GLOBAL")));
                        break;
                    }
                    case (byte)'i': // INST
                    {
                        string module = Utf8(Line());
                        string name = Utf8(Line());
                        RequireAllowed(module, name, "INST");
                        PopToMark();
                        _stack.Add(Symbol.Value);
                        break;
                    }
                    case (byte)'R' or 0x81: // REDUCE, NEWOBJ
                        PopValue();
                        RequireCallable(PopValue(), opcode == 'R' ? "REDUCE" : "NEWOBJ");
                        _stack.Add(Symbol.Value);
                        break;
                    case 0x92: // NEWOBJ_EX
                        PopValues(2);
                        RequireCallable(PopValue(), "NEWOBJ_EX");
                        _stack.Add(Symbol.Value);
                        break;
                    case (byte)'o': // OBJ
                    {
                        int start = MarkIndex();
                        if (start + 1 >= _stack.Count)
                            throw Corrupt("OBJ without a class");
                        RequireCallable(_stack[start + 1], "OBJ");
                        PopToMark();
                        _stack.Add(Symbol.Value);
                        break;
                    }

                    // Persistent ids (tensor storages) and framing.
                    case (byte)'P': Line(); _stack.Add(Symbol.Value); break; // PERSID
                    case (byte)'Q': PopValue(); _stack.Add(Symbol.Value); break; // BINPERSID
                    case 0x80: Skip(1); break; // PROTO
                    case 0x95: Skip(8); break; // FRAME

                    case 0x82 or 0x83 or 0x84: // EXT1, EXT2, EXT4
                        throw new CheckpointFormatException(source,
                            $"{recordName} uses a copyreg extension code (opcode 0x{opcode:x2} at byte {_opcodePosition}), " +
                            "which names a global indirectly; refused, nothing was executed");
                    default:
                        throw Corrupt($"unknown or unsupported pickle opcode 0x{opcode:x2}");
                }
            }
        }

        private void Skip(int count)
        {
            if (count < 0 || count > Pickle.Length - _position)
                throw Corrupt("an opcode argument runs past the end (truncated?)");
            _position += count;
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            int start = _position;
            Skip(count);
            return Pickle.Slice(start, count);
        }

        private ReadOnlySpan<byte> Line()
        {
            int end = Pickle[_position..].IndexOf((byte)'\n');
            if (end < 0)
                throw Corrupt("a text argument has no end of line (truncated?)");
            var line = Pickle.Slice(_position, end);
            _position += end + 1;
            return line;
        }

        private int Length(int width)
        {
            var bytes = Take(width);
            long length = width switch
            {
                1 => bytes[0],
                4 => BinaryPrimitives.ReadInt32LittleEndian(bytes),
                _ => BinaryPrimitives.ReadInt64LittleEndian(bytes),
            };
            if (length < 0 || length > Pickle.Length - _position)
                throw Corrupt($"a length of {length} runs past the end of the pickle (truncated?)");
            return (int)length;
        }

        private Symbol Peek()
        {
            if (_stack.Count == 0 || _stack[^1].Kind == Kind.Mark)
                throw Corrupt("an opcode needs a value but the _stack is empty");
            return _stack[^1];
        }

        private Symbol Pop()
        {
            if (_stack.Count == 0)
                throw Corrupt("stack underflow");
            var top = _stack[^1];
            _stack.RemoveAt(_stack.Count - 1);
            return top;
        }

        private Symbol PopValue()
        {
            var value = Peek();
            _stack.RemoveAt(_stack.Count - 1);
            return value;
        }

        private void PopValues(int count)
        {
            for (int i = 0; i < count; i++) PopValue();
        }

        private int MarkIndex()
        {
            for (int i = _stack.Count - 1; i >= 0; i--)
                if (_stack[i].Kind == Kind.Mark) return i;
            throw Corrupt("an opcode needs a MARK but there is none");
        }

        private int PopToMark()
        {
            int mark = MarkIndex();
            int items = _stack.Count - mark - 1;
            _stack.RemoveRange(mark, _stack.Count - mark);
            return items;
        }

        private void Memoize(long index)
        {
            if (index < 0)
                throw Corrupt("negative _memo index");
            _memo[index] = Peek();
        }

        private void Recall(long index)
        {
            if (!_memo.TryGetValue(index, out var value))
                throw Corrupt($"memo index {index} is read before it is written");
            _stack.Add(value);
        }

        private string RequireAllowed(string module, string name, string how)
        {
            string qualified = module + "." + name;
            if (!AllowedGlobals.Contains(qualified))
                throw new CheckpointFormatException(source,
                    $"{recordName} refers to the global '{qualified}' ({how} at byte {_opcodePosition}), which is not allowed in a " +
                    "state_dict checkpoint; refused before unpickling, nothing was executed. Only tensors, storages and " +
                    "OrderedDict can be loaded: re-save the weights with torch.save(model.state_dict(), path).");
            return qualified;
        }

        private void RequireCallable(Symbol callable, string how)
        {
            if (callable.Kind != Kind.Global)
                throw new CheckpointFormatException(source,
                    $"{recordName} calls something that is not an allowed global ({how} at byte {_opcodePosition}); refused, nothing was executed");
        }

        private CheckpointFormatException Corrupt(string problem) =>
            new(source, $"corrupt pickle in {recordName} at byte {_opcodePosition}: {problem}");
    }


    private static long ParseIndex(ReadOnlySpan<byte> line) =>
        long.TryParse(Encoding.ASCII.GetString(line), NumberStyles.Integer, CultureInfo.InvariantCulture, out long index)
            ? index
            : -1;

    private static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    private static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    // STRING's argument is quoted; escapes are kept as written, so an escaped name can never match the allow-list.
    private static string QuotedText(ReadOnlySpan<byte> line)
    {
        string text = Latin1(line);
        return text.Length >= 2 && (text[0] == '\'' || text[0] == '"') && text[^1] == text[0] ? text[1..^1] : text;
    }
}
