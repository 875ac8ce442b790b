"""The rendered tree: the one contract between render and every stage after it (layout, reader, semantics)."""
