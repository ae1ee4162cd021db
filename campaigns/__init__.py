"""Campaign and automation definitions, audience selection and guards (segmented campaigns land here)."""
