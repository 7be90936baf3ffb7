"""Benchmarks of the app: ``python -m benchmarks <name> [--quick] [--out DIR]`` (see ``python -m benchmarks -h``).

Each benchmark is a module here with ``DESCRIPTION`` and ``main(argv) -> int``; it writes JSON and PNG plots under
``results/<name>/`` (git-ignored). ``--quick`` runs it on tiny data in seconds to minutes: CI runs those forms.
"""
