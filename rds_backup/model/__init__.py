"""The pure domain model: facts and decisions that import no AWS client."""
