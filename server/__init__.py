"""The FastAPI server of Unrolled (see docs/DESIGN.md, section "Packages and modules")."""
