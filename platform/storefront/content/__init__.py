"""Pages an owner writes (shipping, returns, about, legal), in Markdown, per language."""
