"""``python -m v2b``: the same CLI as the ``v2b`` command."""

from v2b.cli import main

if __name__ == "__main__":  # not when a spawned worker re-imports this module
    main()
