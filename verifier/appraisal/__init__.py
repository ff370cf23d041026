"""Appraisal: a policy (policies/*.toml) applied to parsed, authenticated evidence, one check at a time."""
