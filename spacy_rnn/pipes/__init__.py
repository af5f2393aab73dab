"""The components: one module per component, generation apart from the language model,
and what they share (``base``)."""
