namespace Ray.Data;

/// <summary>A dataset operation failed; the message names the operator, file or row where known.</summary>
public class DataException : Exception
{
    /// <summary>An error with this message.</summary>
    public DataException(string message) : base(message) { }

    /// <summary>An error with this message and cause.</summary>
    public DataException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Blocks or files disagree on their columns (names or types); never silently coerced.</summary>
public sealed class DataSchemaException : DataException
{
    /// <summary>An error with this message.</summary>
    public DataSchemaException(string message) : base(message) { }
}

/// <summary>A file could not be read or parsed; the message names the file and the row or row group.</summary>
public sealed class DataReadException : DataException
{
    /// <summary>An error with this message.</summary>
    public DataReadException(string message) : base(message) { }

    /// <summary>An error with this message and cause.</summary>
    public DataReadException(string message, Exception inner) : base(message, inner) { }
}
