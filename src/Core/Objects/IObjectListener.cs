namespace Ray.Objects;

/// <summary>
/// Told when an object becomes ready or fails. Runs inline on the completing thread, so an
/// implementation must be short and must not run user code (queue it instead).
/// </summary>
internal interface IObjectListener
{
    void OnObjectCompleted(ObjectEntry entry);
}
