namespace FasterNet;

/// <summary>A tensor or input has the wrong shape; the message names it, the expected and the actual shape.</summary>
public sealed class ShapeMismatchException(string message) : FasterNetException(message);

/// <summary>A state_dict lacks tensors the model needs or has tensors it does not know; the message lists them.</summary>
public sealed class StateDictMismatchException(string message) : FasterNetException(message);

/// <summary>An argument (size, batch, config field) is out of range; the message names it.</summary>
public sealed class InvalidModelInputException(string message) : FasterNetException(message);

/// <summary>The CPU or the native build cannot do what was asked (e.g. a kernel set it lacks).</summary>
public sealed class NotSupportedByRuntimeException(string message) : FasterNetException(message);

/// <summary>The native runtime could not allocate memory (weights or activations); the message says how much and for what.</summary>
public sealed class RuntimeOutOfMemoryException(string message) : FasterNetException(message);
