"""Intent-named async data access, one module per table family; each function takes an AsyncSession."""
