"""Unrolled: recurrent neural networks unrolled in time, every activation and BPTT gradient.

The distribution installs this one import package:

    from unrolled import engine          # the NumPy engine (repository folder engine/)
    from unrolled.server.app import app  # the FastAPI app (repository folder server/)

In a checkout the code lives in the top-level folders engine/ and server/; pyproject.toml maps
them here (setuptools package-dir), so the repository and the installed wheel import alike.
"""
