"""Reference values: where expected measurements come from (release statements, transparency logs)."""
