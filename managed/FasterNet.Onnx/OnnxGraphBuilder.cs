using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace FasterNet.Onnx;

/// <summary>
/// Appends ONNX nodes and initializers to a graph. Each node's output is named after the node
/// (unless given), so the graph reads like the PyTorch module tree it came from.
/// </summary>
internal sealed class OnnxGraphBuilder(IReadOnlyDictionary<string, Tensor> stateDict)
{
    private readonly HashSet<string> _initializers = new(StringComparer.Ordinal);

    public GraphProto Graph { get; } = new();

    /// <summary>A state_dict tensor as a float initializer of the same name (added once).</summary>
    public string Weight(string name)
    {
        if (_initializers.Add(name))
            Graph.Initializer.Add(FloatTensor(name, stateDict[name].Shape, stateDict[name].Data));
        return name;
    }

    /// <summary>A constant int64 vector (Slice starts, ends, axes), added once per name.</summary>
    public string Int64Constant(string name, params long[] values)
    {
        if (_initializers.Add(name))
        {
            var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
            tensor.Dims.Add(values.Length);
            tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
            Graph.Initializer.Add(tensor);
        }
        return name;
    }

    /// <summary>A constant float scalar (0-d tensor), added once per name.</summary>
    public string ScalarConstant(string name, float value)
    {
        if (_initializers.Add(name))
            Graph.Initializer.Add(FloatTensor(name, [], [value]));
        return name;
    }

    /// <summary>Appends a node; returns its output's name.</summary>
    public string Node(string opType, string name, IEnumerable<string> inputs, IEnumerable<AttributeProto>? attributes = null,
                       string? output = null)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(output ?? name);
        if (attributes is not null)
            node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return output ?? name;
    }

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>A float tensor's name and type; null dimension names leave a dimension unnamed.</summary>
    public static ValueInfoProto FloatValueInfo(string name, params object?[] dimensions)
    {
        var shape = new TensorShapeProto();
        foreach (object? dimension in dimensions)
        {
            shape.Dim.Add(dimension switch
            {
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                _ => new TensorShapeProto.Types.Dimension(),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape },
            },
        };
    }

    internal static TensorProto FloatTensor(string name, int[] shape, float[] data)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        foreach (int dimension in shape)
            tensor.Dims.Add(dimension);
        // ONNX raw data is little-endian, as .NET's floats are on every supported platform.
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan()));
        return tensor;
    }
}
