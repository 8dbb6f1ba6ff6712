"""One file per schema change, applied in order by Alembic (the package makes setuptools ship them)."""
